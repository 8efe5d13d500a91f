/**
 * Retry.make: what is retried (idempotent methods, connections never made) and what never is
 * (a side-effecting call that may have run, a stream once a message was consumed), with each
 * attempt sent the rest of the call's timeout. Handlers in memory count the attempts; a port
 * where nothing listens refuses connections for real.
 */
import type { DescMethodUnary } from "@bufbuild/protobuf"
import { describe, expect, layer } from "@effect/vitest"
import { ClientInterceptor, ConnectClient, ConnectError, ConnectService, ConnectTransport, Retry, Transport } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Headers from "@effect/platform/Headers"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Net from "node:net"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { IdempotentService, SideEffectService } from "./support/sideEffectService.js"

const quickly = Schedule.spaced("10 millis").pipe(Schedule.compose(Schedule.recurs(3)))

/** What the handlers saw: one entry per attempt, with the attempt's Connect-Timeout-Ms. */
const attempts: Array<string> = []

const unavailable = ConnectError.make("unavailable", "try again")

/** Fails the first `n` attempts of each kind with unavailable (n is the request's text, or 2). */
const flaky = {
  echo: (request, ctx) =>
    Effect.suspend(() => {
      attempts.push(`echo ${ctx.requestHeaders["connect-timeout-ms"] ?? "-"}`)
      return attempts.length <= Number(request.text || "2") ? Effect.fail(unavailable) : Effect.succeed({ text: "ok" })
    }),
  serverStream: (request) =>
    Stream.suspend(() => {
      attempts.push("serverStream")
      return request.text === "late"
        ? Stream.concat(Stream.make({ text: "one" }), Stream.fail(unavailable))
        : attempts.length <= 2 ? Stream.fail(unavailable) : Stream.make({ text: "ok" })
    }),
  clientStream: (requests) =>
    Effect.zipRight(Stream.runDrain(requests), Effect.sync(() => attempts.push("clientStream"))).pipe(Effect.zipRight(Effect.fail(unavailable))),
  bidiStream: () => Stream.empty
} satisfies ConnectService.Handlers<typeof TestService>
const Flaky = ConnectService.toLayer(TestService, flaky)
const FlakyIdempotent = ConnectService.toLayer(IdempotentService, flaky)

const retrying = ClientInterceptor.intercept(Retry.make({ schedule: quickly }))

const clientOf = <E>(transport: Layer.Layer<Transport.Transport, E>) =>
  Effect.map(Layer.build(transport.pipe(retrying)), (context) => ConnectClient.makeWith(TestService, Context.get(context, Transport.Transport)))

const inMemory = clientOf(ConnectTransport.layerInMemory({ services: [TestService] }).pipe(Layer.provide(Flaky)))

const idempotent = Effect.map(
  Layer.build(ConnectTransport.layerInMemory({ services: [IdempotentService] }).pipe(Layer.provide(FlakyIdempotent), retrying)),
  (context) => ConnectClient.makeWith(IdempotentService, Context.get(context, Transport.Transport))
)

/** A loopback port nothing listens on. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = Net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

describe("Retry", () => {
  layer(Layer.empty, { excludeTestServices: true })((it) => {
    it.scoped("an idempotent call failing with unavailable is tried again, each attempt with the rest of the timeout", () =>
      Effect.gen(function*() {
        attempts.length = 0
        const client = yield* inMemory
        expect((yield* client.echo({}, { timeout: "5 seconds" })).text).toBe("ok")
        expect(attempts).toHaveLength(3)
        const timeouts = attempts.map((a) => Number(a.split(" ")[1]))
        expect(timeouts[0]).toBeLessThanOrEqual(5000)
        expect(timeouts[1]).toBeLessThan(timeouts[0]!)
        expect(timeouts[2]).toBeLessThan(timeouts[1]!)
      }))

    it.scoped("the schedule bounds the attempts; the last error is the call's", () =>
      Effect.gen(function*() {
        attempts.length = 0
        const client = yield* inMemory
        const error = yield* Effect.flip(client.echo({ text: "100" }))
        expect(error.code).toBe("unavailable")
        expect(attempts).toHaveLength(4)
      }))

    it.scoped("the call's timeout bounds all attempts together", () =>
      Effect.gen(function*() {
        attempts.length = 0
        const client = yield* clientOf(
          ConnectTransport.layerInMemory({ services: [TestService] }).pipe(Layer.provide(Flaky), ClientInterceptor.intercept(Retry.make({ schedule: Schedule.spaced("100 millis") })))
        )
        const start = Date.now()
        const error = yield* Effect.flip(client.echo({ text: "1000" }, { timeout: "250 millis" }))
        expect(error.code).toBe("deadline_exceeded")
        expect(Date.now() - start).toBeLessThan(1000)
        expect(attempts.length).toBeLessThanOrEqual(4)
      }))

    it.scoped("a side-effecting call that reached the server is not retried", () =>
      Effect.gen(function*() {
        attempts.length = 0
        const client = yield* inMemory
        expect((yield* Effect.flip(client.clientStream([{ text: "a" }]))).code).toBe("unavailable")
        expect(attempts).toEqual(["clientStream"])
      }))

    it.scoped("an idempotent stream is retried until its first message, never once a message was consumed", () =>
      Effect.gen(function*() {
        attempts.length = 0
        const client = yield* idempotent
        expect((yield* Stream.runCollect(client.serverStream({}))).length).toBe(1)
        expect(attempts).toHaveLength(3)
        attempts.length = 0
        const received: Array<string> = []
        const error = yield* Effect.flip(Stream.runForEach(client.serverStream({ text: "late" }), (m) => Effect.sync(() => received.push(m.text))))
        expect(error.code).toBe("unavailable")
        expect(received).toEqual(["one"])
        expect(attempts).toEqual(["serverStream"])
      }))

    it.scoped("a refused connection is retried even for a side-effecting method: nothing was sent", () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const failures: Array<string> = []
        const context = yield* Layer.build(
          NodeTransport.layerUndici({ baseUrl: `http://127.0.0.1:${port}` }).pipe(
            ClientInterceptor.intercept(Retry.make({ schedule: quickly.pipe(Schedule.tapInput((e: ConnectError.ConnectError) => Effect.sync(() => failures.push(e.code)))) }))
          )
        )
        const transport = Context.get(context, Transport.Transport)
        const method = SideEffectService.methods.find((m) => m.name === "Echo") as DescMethodUnary
        expect(Retry.isIdempotent(method)).toBe(false)
        const error = yield* Effect.flip(transport.unary(method, {}, { headers: Headers.empty, timeoutMs: undefined }))
        expect(error.code).toBe("unavailable")
        expect(Retry.neverSent(error)).toBe(true)
        expect(failures).toEqual(["unavailable", "unavailable", "unavailable", "unavailable"])
      }))
  })
})
