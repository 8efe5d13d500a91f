/**
 * What handlers can rely on: services from their Layer, the request's headers and deadline,
 * and failures that are logged on the server but never leak to the client. Driven by
 * connect-node's client, an independent peer.
 */
import { Code, ConnectError as NodeConnectError, createClient } from "@connectrpc/connect"
import { createConnectTransport } from "@connectrpc/connect-node"
import { describe, expect, it } from "@effect/vitest"
import { ConnectError, ConnectService } from "connect-effect"
import { ConnectServer } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"

class Prefix extends Context.Tag("test/Prefix")<Prefix, string>() {}

const logged: Array<string> = []
const CapturingLogger = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ cause, message }) => logged.push(`${String(message)} ${cause._tag === "Empty" ? "" : String(cause)}`))
)

const ContextService = ConnectService.toLayer(TestService, {
  echo: (request, ctx) =>
    Effect.gen(function*() {
      const prefix = yield* Prefix
      if (request.text === "defect") return yield* Effect.die(new Error("secret database password in stack"))
      if (request.text === "plain-failure") return yield* Effect.fail(new Error("secret in an ordinary error"))
      if (request.text === "connect-failure") return yield* ConnectError.make("permission_denied", "not you")
      const deadline = Option.match(ctx.deadline, { onNone: () => "none", onSome: (at) => String(at - Date.now() > 0) })
      return { text: `${prefix}${request.text}`, headers: [`deadline: ${deadline}`, `x-id: ${ctx.requestHeaders["x-id"] ?? ""}`] }
    }),
  serverStream: (request) =>
    Stream.concat(Stream.make({ text: "first" }), request.text === "defect" ? Stream.die("stream secret") : Stream.empty),
  clientStream: (requests) => Effect.map(Stream.runCount(requests), (n) => ({ text: String(n) })),
  bidiStream: (requests) => Stream.map(requests, (r) => ({ text: r.text }))
})

const ServerLive = ConnectServer.layer({ services: [TestService] }).pipe(
  Layer.provide(ContextService),
  Layer.provide(Layer.succeed(Prefix, "> ")),
  Layer.provide(CapturingLogger)
)

const clientFor = Effect.map(ConnectServer.ConnectServer, ({ url }) =>
  createClient(TestService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })))

const failureOf = (promise: () => Promise<unknown>) =>
  Effect.flip(Effect.tryPromise({ try: promise, catch: (e) => NodeConnectError.from(e) }))

describe("handlers", () => {
  it.scoped("use the services their Layer provides, and read headers and deadline", () =>
    Effect.gen(function*() {
      const client = yield* clientFor
      const plain = yield* Effect.promise(() => client.echo({ text: "hi" }, { headers: { "x-id": "7" } }))
      expect(plain.text).toBe("> hi")
      expect(plain.headers).toEqual(["deadline: none", "x-id: 7"])
      const timed = yield* Effect.promise(() => client.echo({ text: "hi" }, { timeoutMs: 5000 }))
      expect(timed.headers[0]).toBe("deadline: true")
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("send a ConnectError as it is", () =>
    Effect.gen(function*() {
      const client = yield* clientFor
      const error = yield* failureOf(() => client.echo({ text: "connect-failure" }))
      expect(error.code).toBe(Code.PermissionDenied)
      expect(error.rawMessage).toBe("not you")
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("log defects and other failures, and send only a bare internal error", () =>
    Effect.gen(function*() {
      logged.length = 0
      const client = yield* clientFor
      for (const text of ["defect", "plain-failure"]) {
        const error = yield* failureOf(() => client.echo({ text }))
        expect(error.code).toBe(Code.Internal)
        expect(error.rawMessage).not.toContain("secret")
      }
      const streamError = yield* failureOf(async () => {
        for await (const _ of client.serverStream({ text: "defect" })) { /* drain */ }
      })
      expect(streamError.code).toBe(Code.Internal)
      expect(streamError.rawMessage).not.toContain("secret")
      expect(logged.join("\n")).toContain("secret database password in stack")
      expect(logged.join("\n")).toContain("secret in an ordinary error")
      expect(logged.join("\n")).toContain("stream secret")
    }).pipe(Effect.provide(ServerLive)))
})
