/**
 * Interop with @grpc/grpc-js, the gRPC library most Node programs use, both ways: our gRPC
 * client (`NodeTransport.layerHttp2({ protocol: "grpc" })`) against a grpc-js server, and a
 * grpc-js client against our server. The four kinds of call, errors, metadata and trailers,
 * deadlines, cancellation seen by the other side, and gzip.
 */
import * as Grpc from "@grpc/grpc-js"
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient } from "connect-effect"
import { ConnectServer, NodeCompression, NodeTransport } from "connect-effect/node"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { type EchoRequest, type EchoResponse, TestService } from "../gen/connecteffect/test/v1/test_pb.js"
import { expectBytes, payloadOf } from "../support/bytes.js"
import { eventually } from "../support/h2Servers.js"
import { grpcJsClient, grpcJsServer } from "../support/grpcJs.js"
import { ourServer } from "../support/servers.js"

type ClientOptions = Omit<NodeTransport.Http2Options, "baseUrl" | "protocol">

const ourClient = (url: string, options: ClientOptions = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(NodeTransport.layerHttp2({ baseUrl: url, protocol: "grpc", ...options }))
    return yield* Effect.provide(ConnectClient.make(TestService), context)
  })

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toArray)

describe("our gRPC client against a grpc-js server", () => {
  for (const compression of [undefined, NodeCompression.gzip]) {
    const label = compression === undefined ? "identity" : "gzip"
    const options: ClientOptions = compression === undefined ? {} : { sendCompression: compression, compressMinBytes: 0 }
    // grpc-js answers in the compression it is told to use for responses.
    const serverOptions = compression === undefined ? {} : { "grpc.default_compression_algorithm": 2 }

    it.live(`the four kinds of call, with headers and trailers (${label})`, () =>
      Effect.gen(function*() {
        const server = yield* grpcJsServer(serverOptions)
        const client = yield* ourClient(server.url, options)
        const big = payloadOf(200_000, 3)
        const res = yield* client.echo.withResponse({ text: "hello", payload: big }, { headers: { "x-test-a": "1" } })
        expect(res.message.text).toBe("hello")
        expect(res.message.headers).toEqual(["x-test-a: 1"])
        expectBytes([res.message.payload], [big])
        expect(res.headers["x-test-header"]).toBe("hello")
        expect(res.trailers["x-test-trailer"]).toBe("done")
        expect(res.trailers["grpc-status"]).toBeUndefined()

        const streamed = yield* collect(client.serverStream({ text: "s", count: 3, size: 50_000 }))
        expect(streamed.map((m) => m.text)).toEqual(["s 0", "s 1", "s 2"])
        expectBytes(streamed.map((m) => m.payload), [0, 1, 2].map((i) => payloadOf(50_000, i)))
        expect((yield* client.clientStream([{ text: "a" }, { text: "b" }])).text).toBe("a,b")
        const bidi = yield* collect(client.bidiStream([{ text: "x" }, { text: "y" }]))
        expect(bidi.map((m) => m.text)).toEqual(["x", "y"])
      }).pipe(Effect.scoped))
  }

  it.live("errors: the code and message from grpc-status and grpc-message, metadata from the trailers", () =>
    Effect.gen(function*() {
      const server = yield* grpcJsServer()
      const client = yield* ourClient(server.url)
      const unary = yield* Effect.flip(client.echo({ text: "no ünïcode?", failWith: "permission_denied" }))
      expect(unary.code).toBe("permission_denied")
      expect(unary.message).toBe("failed: no ünïcode?")
      expect(unary.metadata["x-test-trailer"]).toBe("done")
      const stream = yield* Effect.flip(Stream.runDrain(client.serverStream({ text: "st", count: 2, failWith: "aborted" })))
      expect(stream.code).toBe("aborted")
      const bidi = yield* Effect.flip(Stream.runDrain(client.bidiStream([{ text: "ok" }, { text: "bad", failWith: "data_loss" }])))
      expect(bidi.code).toBe("data_loss")
    }).pipe(Effect.scoped))

  it.live("a timeout goes as grpc-timeout: deadline_exceeded, and grpc-js sees the call cancelled", () =>
    Effect.gen(function*() {
      const server = yield* grpcJsServer()
      const client = yield* ourClient(server.url)
      const error = yield* Effect.flip(client.echo({ text: "slow", delayMs: 2000 }, { timeout: "150 millis" }))
      expect(error.code).toBe("deadline_exceeded")
      expect(yield* eventually(() => server.cancelled() === 1)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("interrupting a stream resets it: grpc-js's handler sees the call cancelled", () =>
    Effect.gen(function*() {
      const server = yield* grpcJsServer()
      const client = yield* ourClient(server.url)
      const fiber = yield* Effect.fork(Stream.runDrain(client.serverStream({ text: "long", count: 1000, delayMs: 20 })))
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(fiber)
      expect(yield* eventually(() => server.cancelled() === 1)).toBe(true)
    }).pipe(Effect.scoped))
})

/** Runs a grpc-js unary call as an Effect, with its response metadata and trailers. */
const grpcJsUnary = (client: Grpc.Client & Record<string, any>, request: Partial<EchoRequest>, options: Grpc.CallOptions = {}) =>
  Effect.async<{ message: EchoResponse; headers: Grpc.Metadata; trailers: Grpc.Metadata }, Grpc.ServiceError>((resume) => {
    const metadata = new Grpc.Metadata()
    metadata.set("x-test-a", "1")
    let headers = new Grpc.Metadata()
    let trailers = new Grpc.Metadata()
    let message: EchoResponse | undefined
    let error: Grpc.ServiceError | undefined
    const call = client.echo(request, metadata, options, (e: Grpc.ServiceError | null, m: EchoResponse) => {
      if (e !== null) error = e
      else message = m
    })
    call.on("metadata", (m: Grpc.Metadata) => headers = m)
    call.on("status", (status: Grpc.StatusObject) => {
      trailers = status.metadata
      // The callback and the status event come in either order; both have run by the next turn.
      setImmediate(() => resume(error !== undefined ? Effect.fail(error) : Effect.succeed({ message: message!, headers, trailers })))
    })
  })

const grpcJsStream = <A>(start: (metadata: Grpc.Metadata) => NodeJS.EventEmitter) =>
  Effect.async<Array<A>, Grpc.ServiceError>((resume) => {
    const received: Array<A> = []
    const call = start(new Grpc.Metadata())
    call.on("data", (m: A) => received.push(m))
    call.on("error", (e: Grpc.ServiceError) => resume(Effect.fail(e)))
    call.on("end", () => resume(Effect.succeed(received)))
  })

describe("a grpc-js client against our server", () => {
  it.live("the four kinds of call, with metadata and trailers, identity and gzip", () =>
    Effect.gen(function*() {
      const url = yield* Effect.map(ConnectServer.ConnectServer, (s) => s.url)
      for (const options of [{}, { "grpc.default_compression_algorithm": 2 }]) {
        const client = yield* grpcJsClient(url, options)
        const big = payloadOf(200_000, 5)
        const res = yield* grpcJsUnary(client, { text: "hello", payload: big })
        expect(res.message.text).toBe("hello")
        expect(res.message.headers).toEqual(["x-test-a: 1"])
        expectBytes([res.message.payload], [big])
        expect(res.headers.get("x-test-header")).toEqual(["hello"])
        expect(res.trailers.get("x-test-trailer")).toEqual(["done"])

        const streamed = yield* grpcJsStream<EchoResponse>((m) => client.serverStream({ text: "s", count: 3, size: 1000 }, m))
        expect(streamed.map((m) => m.text)).toEqual(["s 0", "s 1", "s 2"])
        const summed = yield* Effect.async<EchoResponse, Grpc.ServiceError>((resume) => {
          const call = client.clientStream(new Grpc.Metadata(), (e: Grpc.ServiceError | null, m: EchoResponse) =>
            resume(e === null ? Effect.succeed(m) : Effect.fail(e)))
          call.write({ text: "a" })
          call.write({ text: "b" })
          call.end()
        })
        expect(summed.text).toBe("a,b")
        const bidi = yield* grpcJsStream<EchoResponse>((m) => {
          const call = client.bidiStream(m)
          call.write({ text: "x" })
          call.write({ text: "y" })
          call.end()
          return call
        })
        expect(bidi.map((m) => m.text)).toEqual(["x", "y"])
      }
    }).pipe(Effect.provide(ourServer()), Effect.scoped))

  it.live("errors: code, message and details (grpc-status-details-bin) reach grpc-js", () =>
    Effect.gen(function*() {
      const url = yield* Effect.map(ConnectServer.ConnectServer, (s) => s.url)
      const client = yield* grpcJsClient(url)
      const error = yield* Effect.flip(grpcJsUnary(client, { text: "nö", failWith: "not_found" }))
      expect(error.code).toBe(Grpc.status.NOT_FOUND)
      expect(error.details).toBe("failed: nö")
      const details = error.metadata.get("grpc-status-details-bin")
      expect(details).toHaveLength(1)
      // A google.rpc.Status: code 5, the message, and one Any of connecteffect.test.v1.ErrorDetail.
      const status = Buffer.from(details[0] as Buffer).toString("latin1")
      expect(status).toContain("type.googleapis.com/connecteffect.test.v1.ErrorDetail")
      const stream = yield* Effect.flip(grpcJsStream((m) => client.serverStream({ text: "st", count: 2, failWith: "aborted" }, m)))
      expect(stream.code).toBe(Grpc.status.ABORTED)
    }).pipe(Effect.provide(ourServer()), Effect.scoped))

  it.live("a grpc-js deadline reaches our handler, which is interrupted: DEADLINE_EXCEEDED", () =>
    Effect.gen(function*() {
      const url = yield* Effect.map(ConnectServer.ConnectServer, (s) => s.url)
      const client = yield* grpcJsClient(url)
      const error = yield* Effect.flip(grpcJsUnary(client, { text: "slow", delayMs: 3000 }, { deadline: Date.now() + 200 }))
      expect(error.code).toBe(Grpc.status.DEADLINE_EXCEEDED)
      const server = yield* ConnectServer.ConnectServer
      expect(yield* eventually(() => Effect.runSync(server.activity).callsInFlight === 0)).toBe(true)
    }).pipe(Effect.provide(ourServer()), Effect.scoped))
})
