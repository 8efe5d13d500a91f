/**
 * ConnectTransport.layerInMemory: our client calling TestService's handlers in the same process,
 * in each protocol and codec. The behaviour tests our client passes against connect-node over
 * the network run here too; then what only the in-memory path can show: serialization mistakes
 * caught, the handler interrupted with the call, the server's hooks applied.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Compression, ConnectClient, ConnectError, ConnectService, ConnectTransport, ServerInterceptor, Transport } from "connect-effect"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { collect, describeClientBehaviour } from "./support/clientBehaviour.js"
import { TestServiceLive } from "./support/testService.js"

type Options = Omit<ConnectTransport.InMemoryOptions<[typeof TestService]>, "services">

/** A TestService client on an in-memory transport built into the current Scope. */
const clientOf = <E, R>(transport: Layer.Layer<Transport.Transport, E, R>) =>
  Effect.map(Layer.build(transport), (context) => ConnectClient.makeWith(TestService, Context.get(context, Transport.Transport)))

const inMemory = (options: Options = {}) =>
  clientOf(ConnectTransport.layerInMemory({ ...options, services: [TestService] }).pipe(Layer.provide(TestServiceLive)))

const protocols = ["connect", "grpc", "grpc-web"] as const
const codecs = ["binary", "json"] as const

describe("the in-memory transport", () => {
  // Live clocks: deadlines and handler delays are real time, as over the network.
  layer(Layer.empty, { excludeTestServices: true })((it) => {
  describe.each(protocols)("%s", (protocol) => {
    describe.each(codecs)("codec %s", (codec) => {
      describeClientBehaviour(it, () => inMemory({ protocol, codec }))

      it.scoped("the four kinds of call", () =>
        Effect.gen(function*() {
          const client = yield* inMemory({ protocol, codec })
          expect((yield* client.echo({ text: "hi", payload: new Uint8Array([1, 2]) })).payload).toEqual(new Uint8Array([1, 2]))
          expect((yield* collect(client.serverStream({ text: "s", count: 2 }))).map((m) => m.text)).toEqual(["s 0", "s 1"])
          expect((yield* client.clientStream([{ text: "a" }, { text: "b" }])).text).toBe("a,b")
          expect((yield* collect(client.bidiStream(Stream.make({ text: "x" }, { text: "y" })))).map((m) => m.text)).toEqual(["x", "y"])
        }))

      it.scoped("compressed both ways", () =>
        Effect.gen(function*() {
          const client = yield* inMemory({ protocol, codec, compressMinBytes: 0, sendCompression: Compression.gzip })
          expect((yield* client.echo({ text: "squeezed" })).text).toBe("squeezed")
          expect((yield* client.clientStream([{ text: "a" }, { text: "b" }])).text).toBe("a,b")
        }))
    })
  })

  it.scoped("a handler's answer that does not serialize fails the call, as over the network", () =>
    Effect.gen(function*() {
      const Broken = ConnectService.toLayer(TestService, {
        echo: () => Effect.succeed({ payload: 5 as unknown as Uint8Array }),
        serverStream: () => Stream.empty,
        clientStream: () => Effect.succeed({}),
        bidiStream: () => Stream.empty
      })
      const client = yield* clientOf(ConnectTransport.layerInMemory({ services: [TestService] }).pipe(Layer.provide(Broken)))
      const error = yield* Effect.flip(client.echo({ text: "x" }))
      expect(error.code).toBe("internal")
    }))

  it.scoped("ending a call interrupts its handler", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const Hanging = ConnectService.toLayer(TestService, {
        echo: () => Effect.never,
        serverStream: () =>
          Stream.concat(
            Stream.make({ text: "first" }),
            Stream.fromEffect(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)).pipe(
              Stream.ensuring(Deferred.succeed(interrupted, undefined))
            )
          ),
        clientStream: () => Effect.succeed({}),
        bidiStream: () => Stream.empty
      })
      const client = yield* clientOf(ConnectTransport.layerInMemory({ services: [TestService] }).pipe(Layer.provide(Hanging)))
      const fiber = yield* Effect.fork(Stream.runDrain(client.serverStream({})))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      yield* Deferred.await(interrupted)
      expect((yield* Effect.flip(client.echo({}, { timeout: "50 millis" }))).code).toBe("deadline_exceeded")
    }))

  it.scoped("the server's request gate and interceptors run as on a server", () =>
    Effect.gen(function*() {
      const client = yield* clientOf(
        ConnectTransport.layerInMemory({
          services: [TestService],
          requestGate: (request) =>
            request.headers["authorization"] === "Bearer secret"
              ? Effect.void
              : Effect.fail(ConnectError.make("unauthenticated", "no token")),
          interceptors: [ServerInterceptor.make({
            unary: (request, context, next) => Effect.tap(next(request), () => context.responseHeaders.set("x-seen", "yes"))
          })]
        }).pipe(Layer.provide(TestServiceLive))
      )
      expect((yield* Effect.flip(client.echo({ text: "hi" }))).code).toBe("unauthenticated")
      const response = yield* client.echo.withResponse({ text: "hi" }, { headers: { authorization: "Bearer secret" } })
      expect(response.headers["x-seen"]).toBe("yes")
    }))
  })
})
