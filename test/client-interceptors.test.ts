/**
 * Client interceptors on our transports, against connect-node serving TestService behind its
 * own bearer-token check: a token added from a TokenSource service, a call refused before it is
 * sent, logging with durations, each response message of a stream observed, and the order.
 */
import { Code as NodeCode, ConnectError as NodeConnectError, type Interceptor as NodeInterceptor } from "@connectrpc/connect"
import { connectNodeAdapter } from "@connectrpc/connect-node"
import { describe, expect, layer } from "@effect/vitest"
import { ClientInterceptor, ConnectClient, ConnectError, Transport } from "connect-effect"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { nodeServer } from "./support/servers.js"
import { connectNodeRoutes } from "./support/testService.js"
import { clientTransports } from "./support/transports.js"

/** Where tokens come from; `none` when there is none. */
class TokenSource extends Context.Tag("test/TokenSource")<TokenSource, Effect.Effect<string | undefined>>() {}

/** Log lines written by the interceptors, and the requests connect-node saw. */
class Journal extends Context.Tag("test/Journal")<Journal, Ref.Ref<ReadonlyArray<string>>>() {}

const write = (line: string) => Effect.flatMap(Journal, (journal) => Ref.update(journal, (lines) => [...lines, line]))

const bearer = ClientInterceptor.requestHeaders((_call) =>
  Effect.flatMap(TokenSource, (token) => token).pipe(
    Effect.filterOrFail((token) => token !== undefined, () => ConnectError.make("unauthenticated", "no token to send")),
    Effect.map((token) => ({ authorization: `Bearer ${token}` }))
  )
)

const logging = (name: string) =>
  ClientInterceptor.make<Journal>({
    unary: (request, next) =>
      Effect.gen(function*() {
        yield* write(`${name} ${request.method.name} timeout ${request.timeoutMs ?? "none"}`)
        const [duration, exit] = yield* Effect.timed(Effect.exit(next(request)))
        const outcome = exit._tag === "Success" ? "ok" : exit.cause._tag === "Fail" ? exit.cause.error.code : "defect"
        yield* write(`${name} ${request.method.name} ${outcome} in ${Duration.toMillis(duration) >= 0 ? "some" : "no"} ms`)
        return yield* exit
      }),
    stream: (request, next) =>
      Effect.gen(function*() {
        const journal = yield* Journal
        const note = (line: string) => Ref.update(journal, (lines) => [...lines, line])
        yield* note(`${name} ${request.method.name} open`)
        const response = yield* next(request)
        return {
          ...response,
          messages: response.messages.pipe(
            Stream.tap((m) => note(`${name} message ${(m as { text: string }).text}`)),
            Stream.onEnd(note(`${name} ${request.method.name} end, header x-test-header: ${response.headers["x-test-header"]}`))
          )
        }
      })
  })

/** connect-node's own check: a call without `Bearer secret` is unauthenticated; every call is counted. */
const seen: Array<string> = []
const nodeAuth: NodeInterceptor = (next) => async (request) => {
  seen.push(request.method.name)
  if (request.header.get("authorization") !== "Bearer secret") throw new NodeConnectError("who are you", NodeCode.Unauthenticated)
  return next(request)
}

class NodeUrl extends Context.Tag("test/NodeUrl")<NodeUrl, string>() {}

const NodeLive = Layer.scoped(NodeUrl, Effect.map(nodeServer(connectNodeAdapter({ routes: connectNodeRoutes, interceptors: [nodeAuth] })), ({ url }) => url))

describe.each(clientTransports)("client interceptors over $name", (transport) => {
  const clientWith = (token: string | undefined) =>
    Effect.gen(function*() {
      const url = yield* NodeUrl
      const context = yield* Layer.build(
        transport.layer({ baseUrl: url }).pipe(
          ClientInterceptor.intercept(logging("outer"), bearer, logging("inner")),
          Layer.provide(Layer.succeed(TokenSource, Effect.succeed(token)))
        )
      )
      return ConnectClient.makeWith(TestService, Context.get(context, Transport.Transport))
    })

  layer(Layer.mergeAll(NodeLive, Layer.effect(Journal, Ref.make<ReadonlyArray<string>>([]))), { excludeTestServices: true })((it) => {
    const fresh = Effect.flatMap(Journal, (journal) => Effect.as(Ref.set(journal, []), journal))

    it.scoped("a token from the context passes connect-node's check; the interceptors run in order", () =>
      Effect.gen(function*() {
        const journal = yield* fresh
        const client = yield* clientWith("secret")
        expect((yield* client.echo({ text: "hi" }, { timeout: "5 seconds" })).text).toBe("hi")
        const lines = yield* Ref.get(journal)
        expect(lines[0]).toMatch(/^outer Echo timeout \d+$/)
        expect(lines[1]).toMatch(/^inner Echo timeout \d+$/)
        expect(lines.slice(2)).toEqual(["inner Echo ok in some ms", "outer Echo ok in some ms"])
      }))

    it.scoped("a wrong token is refused by the server, with its code", () =>
      Effect.gen(function*() {
        const journal = yield* fresh
        const client = yield* clientWith("guess")
        const error = yield* Effect.flip(client.echo({ text: "hi" }))
        expect(error.code).toBe("unauthenticated")
        expect(error.message).toBe("who are you")
        expect(yield* Ref.get(journal)).toContain("outer Echo unauthenticated in some ms")
      }))

    it.scoped("no token: the interceptor fails the call, which is never sent", () =>
      Effect.gen(function*() {
        const journal = yield* fresh
        const before = seen.length
        const client = yield* clientWith(undefined)
        const error = yield* Effect.flip(client.echo({ text: "hi" }))
        expect(error.code).toBe("unauthenticated")
        expect(error.message).toBe("no token to send")
        expect(seen.length).toBe(before)
        expect(yield* Ref.get(journal)).toEqual([
          "outer Echo timeout none",
          "outer Echo unauthenticated in some ms"
        ])
      }))

    it.scoped("each message of a stream is observed, then its end", () =>
      Effect.gen(function*() {
        const journal = yield* fresh
        const client = yield* clientWith("secret")
        const messages = yield* Stream.runCollect(client.serverStream({ text: "s", count: 2 }))
        expect(messages.length).toBe(2)
        expect(yield* Ref.get(journal)).toEqual([
          "outer ServerStream open",
          "inner ServerStream open",
          "inner message s 0",
          "outer message s 0",
          "inner message s 1",
          "outer message s 1",
          "inner ServerStream end, header x-test-header: s",
          "outer ServerStream end, header x-test-header: s"
        ])
        const counted = yield* client.clientStream([{ text: "a" }, { text: "b" }])
        expect(counted.text).toBe("a,b")
      }))
  })
})
