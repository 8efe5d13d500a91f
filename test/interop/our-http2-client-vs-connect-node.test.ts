/**
 * Interop: our ConnectClient over `NodeTransport.layerHttp2`, in each protocol (Connect, gRPC,
 * gRPC-Web), against @connectrpc/connect-node
 * on node:http2 (h2c): the four kinds of call with both codecs and gzip, errors, full-duplex
 * bidi, early cancellation seen by connect-node's handler, and one connection for many calls.
 * After each test the transport is released and the server must have no session left.
 */
import { create } from "@bufbuild/protobuf"
import { type ConnectRouter } from "@connectrpc/connect"
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient, ConnectError } from "connect-effect"
import { NodeCompression, NodeTransport } from "connect-effect/node"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ErrorDetailSchema, TestService } from "../gen/connecteffect/test/v1/test_pb.js"
import { pingPong } from "../support/pingPong.js"
import { expectBytes, payloadOf } from "../support/bytes.js"
import { connectNodeH2, eventually, type H2Server } from "../support/h2Servers.js"

type ClientOptions = Omit<NodeTransport.Http2Options, "baseUrl">

/** A TestService client over HTTP/2 to `server`; the transport is released with the Scope. */
const clientOn = (server: H2Server, options: ClientOptions = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(NodeTransport.layerHttp2({ baseUrl: server.url, ...options }))
    return yield* Effect.provide(ConnectClient.make(TestService), context)
  })

/**
 * Runs `test` with connect-node on HTTP/2, then checks the client's release closed every
 * session it opened on the server.
 */
const withServer = <A, E>(
  test: (server: H2Server) => Effect.Effect<A, E, Scope.Scope>,
  routes?: (router: ConnectRouter) => void
) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* connectNodeH2(routes === undefined ? {} : { routes })
    yield* Effect.scoped(test(server))
    expect(yield* eventually(() => server.open() === 0)).toBe(true)
    return server
  }))

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toArray)

const codecs = ["binary", "json"] as const

describe.each(["connect", "grpc", "grpc-web"] as const)("our HTTP/2 client in %s against connect-node on node:http2", (protocol) => {
  const clientOf = (server: H2Server, options: ClientOptions = {}) => clientOn(server, { protocol, ...options })
  describe.each(codecs)("codec %s", (codec) => {
    for (const compression of [undefined, NodeCompression.gzip]) {
      const options: ClientOptions = compression === undefined
        ? { codec }
        : { codec, sendCompression: compression, compressMinBytes: 0 }
      const label = compression === undefined ? "identity" : "gzip"

      it.live(`unary (${label})`, () =>
        withServer((server) =>
          Effect.gen(function*() {
            const client = yield* clientOf(server, options)
            const big = payloadOf(200_000, 3)
            const res = yield* client.echo.withResponse({ text: "hello", payload: big }, { headers: { "x-test-a": "1" } })
            expect(res.message.text).toBe("hello")
            expect(res.message.headers).toEqual(["x-test-a: 1"])
            expectBytes([res.message.payload], [big])
            expect(res.headers["x-test-header"]).toBe("hello")
            expect(res.trailers["x-test-trailer"]).toBe("done")
          })
        ))

      it.live(`server stream (${label})`, () =>
        withServer((server) =>
          Effect.gen(function*() {
            const client = yield* clientOf(server, options)
            const messages = yield* collect(client.serverStream({ text: "s", count: 3, size: 100_000 }))
            expect(messages.map((m) => m.text)).toEqual(["s 0", "s 1", "s 2"])
            expectBytes(messages.map((m) => m.payload), [0, 1, 2].map((i) => payloadOf(100_000, i)))
          })
        ))

      it.live(`client stream (${label})`, () =>
        withServer((server) =>
          Effect.gen(function*() {
            const client = yield* clientOf(server, options)
            expect((yield* client.clientStream([{ text: "a" }, { text: "b" }, { text: "c" }])).text).toBe("a,b,c")
            expect((yield* client.clientStream([])).text).toBe("")
          })
        ))

      it.live(`bidi stream (${label})`, () =>
        withServer((server) =>
          Effect.gen(function*() {
            const client = yield* clientOf(server, options)
            const big = payloadOf(300_000, 1)
            const messages = yield* collect(client.bidiStream([{ text: "x", payload: big }, { text: "y" }]))
            expect(messages.map((m) => m.text)).toEqual(["x", "y"])
            expectBytes([messages[0]!.payload], [big])
          })
        ))
    }

    it.live("errors with details, unary and streaming", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const client = yield* clientOf(server, { codec })
          const unary = yield* Effect.flip(client.echo({ text: "no", failWith: "permission_denied" }))
          expect(unary.code).toBe("permission_denied")
          expect(unary.message).toBe("failed: no")
          expect(ConnectError.findDetails(unary, ErrorDetailSchema).map((d) => d.reason)).toEqual(["no"])
          const stream = yield* Effect.flip(Stream.runDrain(client.serverStream({ text: "st", count: 2, failWith: "aborted" })))
          expect(stream.code).toBe("aborted")
          const bidi = yield* Effect.flip(Stream.runDrain(client.bidiStream([{ text: "ok" }, { text: "bad", failWith: "data_loss" }])))
          expect(bidi.code).toBe("data_loss")
        })
      ))
  })

  it.live("bidi ping-pong: each request is sent only after the previous response (full duplex)", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const client = yield* clientOf(server)
        yield* pingPong(client.bidiStream, 5)
      })
    ))

  it.live("a timeout is sent and enforced: deadline_exceeded", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const client = yield* clientOf(server)
        const error = yield* Effect.flip(client.echo({ text: "slow", delayMs: 2000 }, { timeout: "100 millis" }))
        expect(error.code).toBe("deadline_exceeded")
      })
    ))

  it.live("many calls, sequential and concurrent, share one connection", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const client = yield* clientOf(server)
        for (let i = 0; i < 5; i++) expect((yield* client.echo({ text: `call ${i}` })).text).toBe(`call ${i}`)
        yield* Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (i) =>
          client.echo({ text: `c ${i}` }), { concurrency: "unbounded" })
        yield* Effect.forEach([1, 2, 3], () => Stream.runDrain(client.bidiStream([{ text: "a" }])), { concurrency: "unbounded" })
        expect(server.accepted()).toBe(1)
        expect(server.open()).toBe(1)
      })
    ))

  describe("early cancellation reaches connect-node's handler", () => {
    /** TestService whose streaming handlers record when connect-node tells them the call was aborted. */
    const aborted: Array<string> = []
    const started: Array<string> = []
    const routes = (router: ConnectRouter) =>
      router.service(TestService, {
        echo: (r) => ({ text: r.text }),
        async *serverStream(request, ctx) {
          started.push("serverStream")
          ctx.signal.addEventListener("abort", () => aborted.push("serverStream"))
          for (let i = 0; !ctx.signal.aborted; i++) {
            yield { text: `${request.text} ${i}` }
            await new Promise((resolve) => setTimeout(resolve, 10))
          }
        },
        clientStream: async () => create(TestService.method.clientStream.output, {}),
        async *bidiStream(requests, ctx) {
          started.push("bidiStream")
          ctx.signal.addEventListener("abort", () => aborted.push("bidiStream"))
          for await (const r of requests) yield { text: r.text }
        }
      })

    it.live("interrupting a bidi call and a server stream resets their streams", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const client = yield* clientOf(server)
          // A bidi call whose requests never end, given up on after its first answer.
          const first = yield* client.bidiStream(Stream.concat(Stream.make({ text: "one" }), Stream.never)).pipe(
            Stream.take(1),
            Stream.runCollect
          )
          expect(Chunk.toArray(first).map((m) => m.text)).toEqual(["one"])
          // An endless server stream, interrupted from outside.
          const fiber = yield* Effect.fork(Stream.runDrain(client.serverStream({ text: "tick" })))
          yield* Effect.sleep("100 millis")
          yield* Fiber.interrupt(fiber)
          expect(yield* eventually(() => aborted.includes("bidiStream") && aborted.includes("serverStream"))).toBe(true)
          // The connection survives its reset streams.
          expect((yield* client.echo({ text: "after" })).text).toBe("after")
          expect(server.accepted()).toBe(1)
        }), routes))
  })
})
