/**
 * The server's limits on calls and connections, each seen doing its work over the wire: the
 * longest a handler may run, how many calls and connections are served at once, and how long
 * an idle connection stays open.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient, type ConnectError, ConnectService } from "connect-effect"
import { ConnectServer, NodeTransport } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"

/**
 * TestService whose Echo waits `delayMs` and then tells what deadline it had (`none`, or how
 * many milliseconds were left), and whose ServerStream sends a message every `delayMs`.
 */
const DeadlineEchoLive = ConnectService.toLayer(TestService, {
  echo: (request, ctx) =>
    Effect.delay(
      Effect.sync(() => ({ text: Option.match(ctx.deadline, { onNone: () => "none", onSome: (at) => String(at - Date.now()) }) })),
      request.delayMs
    ),
  serverStream: (request) =>
    Stream.range(1, request.count).pipe(Stream.map((i) => ({ text: String(i) })), Stream.tap(() => Effect.sleep(request.delayMs))),
  clientStream: (requests) => Effect.map(Stream.runCount(requests), (n) => ({ text: String(n) })),
  bidiStream: (requests) => Stream.map(requests, (r) => ({ text: r.text }))
})

type Options = Omit<ConnectServer.ServeOptions<[typeof TestService]>, "services">

const serve = (options: Options) =>
  Effect.map(
    Layer.build(ConnectServer.layer({ ...options, services: [TestService] }).pipe(Layer.provide(DeadlineEchoLive))),
    (context) => Context.get(context, ConnectServer.ConnectServer)
  )

const protocols = ["connect", "grpc", "grpc-web"] as const

/** Our client of TestService over HTTP/2 in `protocol`. */
const clientOf = (url: string, protocol: (typeof protocols)[number]) =>
  Effect.flatMap(Layer.build(NodeTransport.layerHttp2({ baseUrl: url, protocol })), (context) =>
    Effect.provide(ConnectClient.make(TestService), context))

describe("handlerTimeoutMs", () => {
  it.scopedLive("a server stream still running at handlerTimeoutMs ends with deadline_exceeded after its messages so far", () =>
    Effect.gen(function*() {
      const client = yield* clientOf((yield* serve({ handlerTimeoutMs: 400 })).url, "grpc")
      const received: Array<string> = []
      const error = yield* Stream.runForEach(client.serverStream({ count: 1000, delayMs: 100 }), (r) => Effect.sync(() => received.push(r.text))).pipe(
        Effect.timeout("10 seconds"),
        Effect.flip
      )
      expect(error._tag).toBe("ConnectError")
      expect((error as ConnectError.ConnectError).code).toBe("deadline_exceeded")
      expect(received.length).toBeGreaterThan(0)
      expect(received.length).toBeLessThan(1000)
    }))

  it.scopedLive.each(protocols)("%s: a handler with no client timeout ends with deadline_exceeded, having seen it as its deadline", (protocol) =>
    Effect.gen(function*() {
      const server = yield* serve({ handlerTimeoutMs: 300 })
      const client = yield* clientOf(server.url, protocol)
      const left = Number((yield* client.echo({ delayMs: 0 })).text)
      expect(left).toBeGreaterThan(0)
      expect(left).toBeLessThanOrEqual(300)
      const start = Date.now()
      const error = yield* Effect.flip(client.echo({ delayMs: 20_000 }))
      expect(error.code).toBe("deadline_exceeded")
      expect(error.message).toContain("handlerTimeoutMs")
      expect(Date.now() - start).toBeLessThan(10_000)
    }))

  it.scopedLive("a client's shorter timeout is the deadline; without handlerTimeoutMs a handler has none", () =>
    Effect.gen(function*() {
      const limited = yield* clientOf((yield* serve({ handlerTimeoutMs: 60_000 })).url, "connect")
      const left = Number((yield* limited.echo({ delayMs: 0 }, { timeout: "2 seconds" })).text)
      expect(left).toBeGreaterThan(0)
      expect(left).toBeLessThanOrEqual(2000)
      const unlimited = yield* clientOf((yield* serve({})).url, "connect")
      expect((yield* unlimited.echo({ delayMs: 0 })).text).toBe("none")
    }))
})
