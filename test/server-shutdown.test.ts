/**
 * Graceful shutdown seen by handlers and clients: a streaming handler learns of it from
 * `HandlerContext.shuttingDown` and ends its stream in good order; a call that ignores it ends
 * with `unavailable` when the grace is over (a stream in its protocol's terms, a unary call not
 * yet answered with a 503), rather than with a cut connection, and its handler is stopped.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient, ConnectService } from "connect-effect"
import { ConnectServer, NodeTransport } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { peerThatStopsReading } from "./support/peers.js"
import { ourServer } from "./support/servers.js"

/**
 * TestService whose ServerStream ticks every 20 ms (or `delayMs`) until the server shuts down
 * and then says "bye" (or, with `failWith: "deaf"`, ticks on regardless, and takes `count` ms
 * to clean up once stopped); whose Echo waits `delayMs`; and which counts the handlers stopped
 * before their end (Echo stopped, ServerStream ended: it never does on its own).
 */
const ShutdownAwareLive = (stopped: Ref.Ref<number>) =>
  ConnectService.toLayer(TestService, {
    echo: (request) =>
      Effect.as(Effect.sleep(request.delayMs), { text: "answered" }).pipe(Effect.onInterrupt(() => Ref.update(stopped, (n) => n + 1))),
    serverStream: (request, ctx) => {
      const ticks = (cleanUp: Effect.Effect<void>) =>
        Stream.repeatEffectWithSchedule(Effect.succeed({ text: "tick" }), Schedule.spaced(request.delayMs || 20)).pipe(
          Stream.ensuring(Effect.zipRight(cleanUp, Ref.update(stopped, (n) => n + 1)))
        )
      if (request.failWith === "deaf") return ticks(Effect.sleep(request.count))
      return Stream.merge(ticks(Effect.void), Stream.fromEffect(Effect.as(ctx.shuttingDown, { text: "bye" })), { haltStrategy: "either" })
    },
    clientStream: (requests) => Effect.map(Stream.runCount(requests), (n) => ({ text: String(n) })),
    bidiStream: (requests) => Stream.map(requests, (r) => ({ text: r.text }))
  })

/** A server in a Scope of its own, which the test closes to shut the server down. */
const startServer = (shutdownGraceMs: number, keepAliveTimeoutMs?: number) =>
  Effect.gen(function*() {
    const stopped = yield* Ref.make(0)
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      ConnectServer.layer({ services: [TestService], shutdownGraceMs, ...(keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeoutMs }) })
        .pipe(Layer.provide(ShutdownAwareLive(stopped))),
      scope
    )
    return { server: Context.get(context, ConnectServer.ConnectServer), scope, stopped }
  })

const protocols = ["connect", "grpc", "grpc-web"] as const

const clientOf = (url: string, protocol: (typeof protocols)[number], http: "1.1" | "2") =>
  Effect.flatMap(
    Layer.build(http === "2" ? NodeTransport.layerHttp2({ baseUrl: url, protocol }) : NodeTransport.layerUndici({ baseUrl: url })),
    (context) => Effect.provide(ConnectClient.make(TestService), context)
  )

type Case = { readonly protocol: (typeof protocols)[number]; readonly http: "1.1" | "2" }

/**
 * A server stream read while its server shuts down with `shutdownGraceMs`: the messages
 * received, how it ended, how long the shutdown took, and how many handlers were stopped.
 */
const streamThroughShutdown = ({ http, protocol }: Case, shutdownGraceMs: number, request: { readonly failWith?: string }) =>
  Effect.gen(function*() {
    const { scope, server, stopped } = yield* startServer(shutdownGraceMs)
    const client = yield* clientOf(server.url, protocol, http)
    const received: Array<string> = []
    const first = yield* Deferred.make<void>()
    const reading = yield* Effect.fork(Effect.exit(Stream.runForEach(client.serverStream(request), (m) =>
      Effect.zipRight(Effect.sync(() => received.push(m.text)), Deferred.succeed(first, undefined)))))
    // The stream is under way (a fixed wait was not always enough on a loaded machine), and runs a little.
    yield* Effect.race(Deferred.await(first), Fiber.await(reading))
    yield* Effect.sleep("100 millis")
    const start = Date.now()
    yield* Scope.close(scope, Exit.void)
    const shutdownMs = Date.now() - start
    return { received, exit: yield* Fiber.join(reading), shutdownMs, stopped: yield* Ref.get(stopped) }
  })

describe("graceful shutdown", () => {
  const cases: ReadonlyArray<Case> = [...protocols.map((protocol) => ({ protocol, http: "2" as const })), { protocol: "connect", http: "1.1" }]

  it.scopedLive.each(cases)("$protocol over HTTP/$http: a stream that watches shuttingDown ends in good order, before the grace", (c) =>
    Effect.gen(function*() {
      const { exit, received, shutdownMs, stopped } = yield* streamThroughShutdown(c, 10_000, {})
      expect(shutdownMs).toBeLessThan(5000)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(received.at(-1)).toBe("bye")
      expect(received.length).toBeGreaterThan(1)
      // The ticks were cut short by the farewell, as a handler's own choice.
      expect(stopped).toBe(1)
    }))

  it.scopedLive.each(cases)("$protocol over HTTP/$http: a stream that ignores it ends with unavailable when the grace is over", (c) =>
    Effect.gen(function*() {
      const { exit, received, stopped } = yield* streamThroughShutdown(c, 300, { failWith: "deaf" })
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      // Said by the server, not a client's reading of a cut connection.
      expect([error?.code, error?.message]).toEqual(["unavailable", "the server is shutting down"])
      expect(received.length).toBeGreaterThan(0)
      expect(stopped).toBe(1)
    }))

  it.scopedLive.each(cases)("$protocol over HTTP/$http: a unary call still running when the grace is over is unavailable", ({ http, protocol }) =>
    Effect.gen(function*() {
      const { stopped, scope, server } = yield* startServer(300)
      const client = yield* clientOf(server.url, protocol, http)
      const call = yield* Effect.fork(Effect.flip(client.echo({ delayMs: 30_000 })))
      yield* server.activity.pipe(Effect.repeat({ until: (a) => a.callsInFlight === 1, schedule: Schedule.spaced("20 millis") }))
      yield* Scope.close(scope, Exit.void)
      const error = yield* Fiber.join(call)
      expect([error.code, error.message]).toEqual(["unavailable", "the server is shutting down"])
      expect(yield* Ref.get(stopped)).toBe(1)
    }))

  it.scopedLive("300 streams that ignore it: each ends with unavailable, and the shutdown is over once every handler has stopped", () =>
    Effect.gen(function*() {
      const { scope, server, stopped } = yield* startServer(300)
      const client = yield* clientOf(server.url, "connect", "2")
      // More than the handlers interrupted in one turn of the event loop.
      const streams = 300
      const ticking = yield* Effect.fork(Effect.forEach(
        Array.from({ length: streams }),
        // Handlers that take longer to clean up than the connections take to close.
        () => Effect.flip(Stream.runDrain(client.serverStream({ failWith: "deaf", delayMs: 1000, count: 2000 }))),
        { concurrency: "unbounded" }
      ))
      yield* server.activity.pipe(Effect.repeat({ until: (a) => a.callsInFlight === streams, schedule: Schedule.spaced("20 millis") }))
      yield* Scope.close(scope, Exit.void)
      expect(yield* Ref.get(stopped)).toBe(streams)
      const errors = yield* Fiber.join(ticking)
      expect(new Set(errors.map((e) => `${e.code}: ${e.message}`))).toEqual(new Set(["unavailable: the server is shutting down"]))
    }), 30_000)

  it.scopedLive("300 streams still sending when the grace is over: what their handlers send after it is dropped, and each ends with unavailable", () =>
    Effect.gen(function*() {
      const { scope, server } = yield* startServer(300)
      const client = yield* clientOf(server.url, "connect", "2")
      // More than the handlers interrupted in one turn of the event loop: those interrupted in a
      // later turn send messages after their streams were ended saying unavailable.
      const streams = 300
      const ticking = yield* Effect.fork(Effect.forEach(
        Array.from({ length: streams }),
        () => Effect.flip(Stream.runDrain(client.serverStream({ failWith: "deaf", delayMs: 1 }))),
        { concurrency: "unbounded" }
      ))
      yield* server.activity.pipe(Effect.repeat({ until: (a) => a.callsInFlight === streams, schedule: Schedule.spaced("20 millis") }))
      yield* Scope.close(scope, Exit.void)
      const errors = yield* Fiber.join(ticking)
      expect(new Set(errors.map((e) => `${e.code}: ${e.message}`))).toEqual(new Set(["unavailable: the server is shutting down"]))
    }), 30_000)

  it.scopedLive("over HTTP/2, a call at work on a session that goes idle during the grace is answered, not cut", () =>
    Effect.gen(function*() {
      const { scope, server } = yield* startServer(3000, 200)
      const client = yield* clientOf(server.url, "connect", "2")
      const call = yield* Effect.fork(client.echo({ delayMs: 1000 }))
      yield* server.activity.pipe(Effect.repeat({ until: (a) => a.callsInFlight === 1, schedule: Schedule.spaced("10 millis") }))
      yield* Scope.close(scope, Exit.void)
      expect((yield* Fiber.join(call)).text).toBe("answered")
    }))

  it.scopedLive("over HTTP/2, a peer that stops reading does not hold the shutdown past the grace", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = Context.get(yield* Layer.buildWithScope(ourServer({ shutdownGraceMs: 300 }), scope), ConnectServer.ConnectServer)
      // A session ending in node:http2 waits for its writes to go out: these never do.
      yield* peerThatStopsReading(server.port)
      yield* server.activity.pipe(Effect.repeat({ until: (a) => a.callsInFlight === 1, schedule: Schedule.spaced("20 millis") }))
      // Time for the kernel's buffers to fill.
      yield* Effect.sleep("500 millis")
      const start = Date.now()
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeout("10 seconds"))
      // The grace, a second for the calls' last words, and room for a loaded machine.
      expect(Date.now() - start).toBeLessThan(300 + 1000 + 2000)
    }), 20_000)
})
