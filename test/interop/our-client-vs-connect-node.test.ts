/**
 * Interop: our ConnectClient (over each client transport) against
 * @connectrpc/connect-node serving TestService, for every RPC kind and both codecs, with
 * compression, errors with details, headers and trailers, timeouts, Connect GET and size limits.
 * What goes over the wire is checked through a recording proxy where it matters.
 */
import { create, type DescService, fromBinary, fromJson } from "@bufbuild/protobuf"
import { Code as NodeCode, ConnectError as NodeConnectError } from "@connectrpc/connect"
import { compressionGzip, connectNodeAdapter } from "@connectrpc/connect-node"
import { describe, expect, layer } from "@effect/vitest"
import { ConnectClient, ConnectError, Transport } from "connect-effect"
import { NodeCompression } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { EchoRequestSchema, TestService } from "../gen/connecteffect/test/v1/test_pb.js"
import { pingPong } from "../support/pingPong.js"
import { MissingService } from "../support/missingService.js"
import { decompressorOf, expectBytes, payloadOf, repetitive } from "../support/bytes.js"
import { bytesOf, envelopesOf, only, recordingProxy } from "../support/recordingProxy.js"
import { connectNodeBridged } from "../support/h2Bridge.js"
import { connectNodeServer, nodeServer } from "../support/servers.js"
import { connectNodeRoutes } from "../support/testService.js"
import { collect, collectUntilFailure, describeClientBehaviour, expectError } from "../support/clientBehaviour.js"
import { type ClientTransport, clientTransports, type TransportOptions } from "../support/transports.js"

/** connect-node on node:http (HTTP/1.1), and on node:http2 behind an HTTP/1.1 bridge (for bidi). */
class NodeUrl extends Context.Tag("test/interop/NodeUrl")<NodeUrl, { readonly h1: string; readonly h2: string }>() {}

const NodeServerLive = Layer.scoped(
  NodeUrl,
  Effect.all({ h1: connectNodeServer(), h2: connectNodeBridged() })
)

/**
 * How the call reaches connect-node: over HTTP/1.1, or over HTTP/2 through the bridge, which
 * bidi calls need (connect-node answers 505 to a bidi call over HTTP/1.1).
 */
type Via = "h1" | "h2"

type ClientOptions = Omit<TransportOptions, "baseUrl">

/** Our clients over `transport`: each owns its HTTP client through the Scope. */
const clientsOver = (transport: ClientTransport) => {
  /** A client of `service` at `baseUrl`. */
  const clientOf = <S extends DescService>(service: S, baseUrl: string, options: ClientOptions = {}) =>
    Effect.map(
      Layer.build(transport.layer({ baseUrl, ...options })),
      (context) => ConnectClient.makeWith(service, Context.get(context, Transport.Transport))
    )
  /** A TestService client of the shared connect-node server. */
  const client = (options: ClientOptions = {}, via: Via = "h1") =>
    Effect.flatMap(NodeUrl, (urls) => clientOf(TestService, urls[via], options))
  /** A TestService client going through a recording proxy to the shared connect-node server. */
  const proxiedClient = (options: ClientOptions = {}, via: Via = "h1") =>
    Effect.gen(function*() {
      const proxy = yield* recordingProxy((yield* NodeUrl)[via])
      return { client: yield* clientOf(TestService, proxy.url, options), exchanges: proxy.exchanges }
    })
  return { clientOf, client, proxiedClient }
}

const codecs = [
  { codec: "binary" as const, unaryType: "application/proto", streamType: "application/connect+proto" },
  { codec: "json" as const, unaryType: "application/json", streamType: "application/connect+json" }
]

/** Decodes a request message as it went over the wire with the given codec. */
const decodeRequest = (codec: "binary" | "json", bytes: Uint8Array) =>
  codec === "binary"
    ? fromBinary(EchoRequestSchema, bytes)
    : fromJson(EchoRequestSchema, JSON.parse(new TextDecoder().decode(bytes)))

describe("our client against connect-node", () => {
  layer(NodeServerLive, { excludeTestServices: true })((it) => {
    describe.each(clientTransports)("over $name", (transport) => {
      const { client, clientOf, proxiedClient } = clientsOver(transport)

      describe.each(codecs)("codec $codec", ({ codec, streamType, unaryType }) => {
        describe("the four kinds of call", () => {
          it.scoped("unary", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient({ codec })
              const res = yield* client.echo({ text: "hello", payload: new Uint8Array([1, 2, 3]) })
              expect(res.text).toBe("hello")
              expectBytes([res.payload], [new Uint8Array([1, 2, 3])])
              const exchange = only(exchanges)
              expect(exchange.method).toBe("POST")
              expect(exchange.url).toBe("/connecteffect.test.v1.TestService/Echo")
              expect(exchange.requestHeaders["content-type"]).toBe(unaryType)
              expect(exchange.requestHeaders["connect-protocol-version"]).toBe("1")
              expect(decodeRequest(codec, bytesOf(exchange.requestBody)).text).toBe("hello")
            }))

          it.scoped("server stream", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient({ codec })
              const messages = yield* collect(client.serverStream({ text: "s", count: 3, size: 4 }))
              expect(messages.map((m) => m.text)).toEqual(["s 0", "s 1", "s 2"])
              expectBytes(messages.map((m) => m.payload), [0, 1, 2].map((i) => payloadOf(4, i)))
              expect(only(exchanges).requestHeaders["content-type"]).toBe(streamType)
            }))

          it.scoped("server stream with no messages", () =>
            Effect.gen(function*() {
              const messages = yield* collect((yield* client({ codec })).serverStream({ text: "none", count: 0 }))
              expect(messages).toEqual([])
            }))

          it.scoped("client stream, from an Iterable and from a Stream", () =>
            Effect.gen(function*() {
              const c = yield* client({ codec })
              const fromIterable = yield* c.clientStream([{ text: "a" }, { text: "b" }, { text: "c" }])
              expect(fromIterable.text).toBe("a,b,c")
              const fromStream = yield* c.clientStream(Stream.make({ text: "x" }, { text: "y" }).pipe(Stream.tap(() => Effect.sleep(5))))
              expect(fromStream.text).toBe("x,y")
              const empty = yield* c.clientStream([])
              expect(empty.text).toBe("")
            }))

          it.scoped("bidi stream", () =>
            Effect.gen(function*() {
              const c = yield* client({ codec }, "h2")
              const messages = yield* collect(
                c.bidiStream(Stream.make({ text: "x", payload: new Uint8Array([9]) }, { text: "y" }))
              )
              expect(messages.map((m) => m.text)).toEqual(["x", "y"])
              expectBytes([messages[0]!.payload], [new Uint8Array([9])])
            }))
        })

        describe("message edge cases", () => {
          it.scoped("the empty message, both ways", () =>
            Effect.gen(function*() {
              const c = yield* client({ codec })
              const res = yield* c.echo({})
              expect(res.text).toBe("")
              expect(res.payload.byteLength).toBe(0)
              const bidi = yield* client({ codec }, "h2")
              expect((yield* collect(bidi.bidiStream([{}, {}]))).map((m) => m.text)).toEqual(["", ""])
            }))

          it.scoped("non-ASCII text", () =>
            Effect.gen(function*() {
              const c = yield* client({ codec })
              const text = "héllo wörld &=?%+"
              expect((yield* c.echo({ text })).text).toBe(text)
              expect((yield* collect(c.serverStream({ text, count: 1 })))[0]!.text).toBe(`${text} 0`)
            }))

          it.scoped("large messages, split across many reads", () =>
            Effect.gen(function*() {
              const c = yield* client({ codec })
              const big = payloadOf(1024 * 1024, 7)
              expectBytes([(yield* c.echo({ text: "big", payload: big })).payload], [big])
              const messages = yield* collect(c.serverStream({ text: "big", count: 3, size: 300_000 }))
              expectBytes(messages.map((m) => m.payload), [0, 1, 2].map((i) => payloadOf(300_000, i)))
              const bidi = yield* client({ codec }, "h2")
              const echoed = yield* collect(bidi.bidiStream([{ text: "a", payload: big }, { text: "b", payload: big }]))
              expectBytes(echoed.map((m) => m.payload), [big, big])
            }))
        })

        describe("streaming behaviour", () => {
          it.scoped("bidi ping-pong: each request is sent only after the previous response (full duplex)", () =>
            Effect.gen(function*() {
              const c = yield* client({ codec }, "h2")
              yield* pingPong(c.bidiStream, 3)
            }))

          it.scoped("taking the first messages of a long stream ends the call early", () =>
            Effect.gen(function*() {
              const { client: c, exchanges } = yield* proxiedClient({ codec })
              const start = Date.now()
              const first = yield* collect(Stream.take(c.serverStream({ text: "long", count: 100, delayMs: 50 }), 2))
              expect(first.map((m) => m.text)).toEqual(["long 0", "long 1"])
              expect(Date.now() - start).toBeLessThan(1000)
              // the HTTP exchange is aborted, so that the server can stop
              yield* Effect.sleep("100 millis")
              expect(exchanges[0]!.clientAborted).toBe(true)
              // and the client still works afterwards
              expect((yield* c.echo({ text: "after" })).text).toBe("after")
            }))
        })

        describe.each([NodeCompression.gzip, NodeCompression.brotli])("compression $name", (compression) => {
          const options = { codec, sendCompression: compression, compressMinBytes: 0, acceptCompression: [compression] }
          const decompress = decompressorOf(compression.name)

          it.scoped("unary: compressed request and response", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient(options)
              const payload = repetitive(4096)
              const res = yield* client.echo({ text: "zip", payload })
              expect(res.text).toBe("zip")
              expectBytes([res.payload], [payload])
              const exchange = only(exchanges)
              expect(exchange.requestHeaders["content-encoding"]).toBe(compression.name)
              const sent = bytesOf(exchange.requestBody)
              expect(sent.byteLength).toBeLessThan(4096)
              expect(decodeRequest(codec, decompress(sent)).text).toBe("zip")
              // connect-node compresses responses of 1 KiB and more with what we accept
              expect(exchange.responseHeaders["content-encoding"]).toBe(compression.name)
              expect(bytesOf(exchange.responseBody).byteLength).toBeLessThan(4096)
            }))

          it.scoped("unary: a small message is compressed too with compressMinBytes 0", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient(options)
              expect((yield* client.echo({ text: "tiny" })).text).toBe("tiny")
              const exchange = only(exchanges)
              expect(exchange.requestHeaders["content-encoding"]).toBe(compression.name)
              expect(decodeRequest(codec, decompress(bytesOf(exchange.requestBody))).text).toBe("tiny")
            }))

          it.scoped("server stream: compressed envelopes both ways", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient(options)
              const messages = yield* collect(client.serverStream({ text: "s", count: 2, size: 3000 }))
              expectBytes(messages.map((m) => m.payload), [payloadOf(3000, 0), payloadOf(3000, 1)])
              const exchange = only(exchanges)
              expect(exchange.requestHeaders["connect-content-encoding"]).toBe(compression.name)
              const sent = envelopesOf(bytesOf(exchange.requestBody))
              expect(sent.map((e) => e.flags)).toEqual([1])
              expect(exchange.responseHeaders["connect-content-encoding"]).toBe(compression.name)
              const received = envelopesOf(bytesOf(exchange.responseBody))
              // two compressed messages, then the end of stream
              expect(received.slice(0, 2).map((e) => e.flags)).toEqual([1, 1])
              expect(received.slice(0, 2).every((e) => e.data.byteLength < 3000)).toBe(true)
              expect(received[2]!.flags & 2).toBe(2)
            }))

          it.scoped("client stream: every request envelope compressed", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient(options)
              const res = yield* client.clientStream([
                { text: "a", payload: repetitive(2000) },
                { text: "b", payload: repetitive(2000) }
              ])
              expect(res.text).toBe("a,b")
              const sent = envelopesOf(bytesOf(only(exchanges).requestBody))
              expect(sent.map((e) => e.flags)).toEqual([1, 1])
              expect(sent.map((e) => decodeRequest(codec, decompress(e.data)).text)).toEqual(["a", "b"])
            }))

          it.scoped("bidi stream: compressed both ways", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient(options, "h2")
              const payload = repetitive(5000)
              const messages = yield* collect(client.bidiStream([{ text: "x", payload }, { text: "y", payload }]))
              expect(messages.map((m) => m.text)).toEqual(["x", "y"])
              expectBytes(messages.map((m) => m.payload), [payload, payload])
              const exchange = only(exchanges)
              expect(envelopesOf(bytesOf(exchange.requestBody)).map((e) => e.flags)).toEqual([1, 1])
              expect(exchange.responseHeaders["connect-content-encoding"]).toBe(compression.name)
              expect(envelopesOf(bytesOf(exchange.responseBody)).slice(0, 2).map((e) => e.flags)).toEqual([1, 1])
            }))
        })

        describeClientBehaviour(it, (via) => client({ codec }, via))

        describe("timeouts over the wire", () => {
          it.scoped("unary within its timeout succeeds, the timeout reaching connect-node", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient({ codec })
              expect((yield* client.echo({ text: "quick", delayMs: 20 }, { timeout: "5 seconds" })).text).toBe("quick")
              const header = Number(only(exchanges).requestHeaders["connect-timeout-ms"])
              expect(header).toBeGreaterThan(4000)
              expect(header).toBeLessThanOrEqual(5000)
            }))
        })

        describe("Connect GET", () => {
          it.scoped("an idempotent unary call goes as GET, and succeeds", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient({ codec, useHttpGet: true })
              const res = yield* client.echo.withResponse(
                { text: "get me", payload: new Uint8Array([0, 255]) },
                { headers: { "x-test-get": "yes" } }
              )
              expect(res.message.text).toBe("get me")
              expectBytes([res.message.payload], [new Uint8Array([0, 255])])
              expect(res.message.headers).toEqual(["x-test-get: yes"])
              expect(res.headers["x-test-header"]).toBe("get me")
              expect(res.trailers["x-test-trailer"]).toBe("done")
              const exchange = only(exchanges)
              expect(exchange.method).toBe("GET")
              expect(bytesOf(exchange.requestBody).byteLength).toBe(0)
              const url = new URL(exchange.url, "http://x")
              expect(url.pathname).toBe("/connecteffect.test.v1.TestService/Echo")
              expect(url.searchParams.get("connect")).toBe("v1")
              expect(url.searchParams.get("encoding")).toBe(codec === "binary" ? "proto" : "json")
              expect(exchange.requestHeaders["content-type"]).toBeUndefined()
            }))

          it.scoped("GET with non-ASCII text in the query", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient({ codec, useHttpGet: true })
              const text = "héllo wörld &=?%+ /#"
              expect((yield* client.echo({ text })).text).toBe(text)
              expect(only(exchanges).method).toBe("GET")
            }))

          it.scoped("GET with a compressed message", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient({
                codec,
                useHttpGet: true,
                sendCompression: NodeCompression.gzip,
                compressMinBytes: 0
              })
              const res = yield* client.echo({ text: "gz get", payload: repetitive(300) })
              expect(res.text).toBe("gz get")
              expectBytes([res.payload], [repetitive(300)])
              const url = new URL(only(exchanges).url, "http://x")
              expect(only(exchanges).method).toBe("GET")
              expect(url.searchParams.get("compression")).toBe("gzip")
              expect(url.searchParams.get("base64")).toBe("1")
            }))

          it.scoped("GET errors come back with details", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient({ codec, useHttpGet: true })
              expectError(yield* Effect.flip(client.echo({ text: "nope", failWith: "not_found" })), "not_found", "nope")
              expect(only(exchanges).method).toBe("GET")
            }))

          it.scoped("a unary method without NO_SIDE_EFFECTS still POSTs", () =>
            Effect.gen(function*() {
              const proxy = yield* recordingProxy((yield* NodeUrl).h1)
              const missing = yield* clientOf(MissingService, proxy.url, { codec, useHttpGet: true })
              expect((yield* Effect.flip(missing.echo({ text: "?" }))).code).toBe("unimplemented")
              expect(only(proxy.exchanges).method).toBe("POST")
            }))

          it.scoped("streaming calls still POST", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient({ codec, useHttpGet: true })
              yield* Stream.runDrain(client.serverStream({ text: "s", count: 1 }))
              expect(only(exchanges).method).toBe("POST")
            }))
        })

        describe("size limits", () => {
          it.scoped("readMaxBytes: a larger server-stream message is resource_exhausted", () =>
            Effect.gen(function*() {
              // no compression: the envelope's length prefix alone must trip the limit
              const c = yield* client({ codec, readMaxBytes: 1000, acceptCompression: [] })
              const fits = yield* collect(c.serverStream({ text: "fits", count: 2, size: 300 }))
              expect(fits).toHaveLength(2)
              const { error, received } = yield* collectUntilFailure(c.serverStream({ text: "big", count: 3, size: 2000 }))
              expect(received).toEqual([])
              expect(error.code).toBe("resource_exhausted")
            }))

          it.scoped("readMaxBytes: a larger unary response is resource_exhausted", () =>
            Effect.gen(function*() {
              const c = yield* client({ codec, readMaxBytes: 1000, acceptCompression: [] })
              const error = yield* Effect.flip(c.echo({ text: "big", payload: payloadOf(2000, 1) }))
              expect(error.code).toBe("resource_exhausted")
            }))

          it.scoped("readMaxBytes bounds decompression: small compressed, large decompressed", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient({ codec, readMaxBytes: 10_000, acceptCompression: [NodeCompression.gzip] })
              const unary = yield* Effect.flip(client.echo({ text: "bomb", payload: new Uint8Array(200_000) }))
              expect(unary.code).toBe("resource_exhausted")
              expect(bytesOf(exchanges[0]!.responseBody).byteLength).toBeLessThan(10_000)
              const { error } = yield* collectUntilFailure(client.serverStream({ text: "bomb", count: 1, size: 200_000 }))
              expect(error.code).toBe("resource_exhausted")
              expect(exchanges[1]!.responseHeaders["connect-content-encoding"]).toBe("gzip")
            }))

          it.scoped("writeMaxBytes: a larger request is refused before sending", () =>
            Effect.gen(function*() {
              const { client, exchanges } = yield* proxiedClient({ codec, writeMaxBytes: 100 })
              const error = yield* Effect.flip(client.echo({ text: "big", payload: payloadOf(200, 1) }))
              expect(error.code).toBe("resource_exhausted")
              expect(exchanges).toHaveLength(0)
            }))

          it.scoped("connect-node's readMaxBytes: our oversized request is resource_exhausted", () =>
            Effect.gen(function*() {
              const url = yield* connectNodeServer({ readMaxBytes: 100 })
              const c = yield* clientOf(TestService, url, { codec })
              expect((yield* c.echo({ text: "small" })).text).toBe("small")
              expect((yield* Effect.flip(c.echo({ text: "big", payload: payloadOf(200, 1) }))).code).toBe("resource_exhausted")
              expect((yield* Effect.flip(c.clientStream([{ text: "big", payload: payloadOf(200, 1) }]))).code).toBe(
                "resource_exhausted"
              )
            }))
        })

        describe("unknown methods", () => {
          it.scoped("a service connect-node does not serve is unimplemented", () =>
            Effect.gen(function*() {
              const missing = yield* clientOf(MissingService, (yield* NodeUrl).h1, { codec })
              expect((yield* Effect.flip(missing.echo({ text: "?" }))).code).toBe("unimplemented")
              const { error } = yield* collectUntilFailure(missing.serverStream({ text: "?" }))
              expect(error.code).toBe("unimplemented")
            }))
        })
      })

      it.scoped("connect-node refuses bidi over HTTP/1.1 (505): a ConnectError, not a hang", () =>
        Effect.gen(function*() {
          const c = yield* client({}, "h1")
          const error = yield* Effect.flip(collect(c.bidiStream([{ text: "x" }])))
          expect(ConnectError.isConnectError(error)).toBe(true)
          expect(error.code).toBe("unknown")
          expect(error.message).toContain("505")
        }))

      it.scoped("error metadata and multi-valued trailers set by a connect-node handler", () =>
        Effect.gen(function*() {
          // connect-node handlers that append a trailer twice, and fail with metadata of their own
          const { url } = yield* nodeServer(connectNodeAdapter({
            routes: (router) =>
              router.service(TestService, {
                echo: (req, ctx) => {
                  ctx.responseTrailer.append("x-multi", "a")
                  ctx.responseTrailer.append("x-multi", "b")
                  if (req.failWith !== "") throw new NodeConnectError("meta", NodeCode.Aborted, { "x-err": "1" })
                  return { text: req.text }
                },
                async *serverStream(req, ctx) {
                  ctx.responseTrailer.append("x-multi", "a")
                  ctx.responseTrailer.append("x-multi", "b")
                  yield { text: "one" }
                  if (req.failWith !== "") throw new NodeConnectError("meta", NodeCode.Aborted, { "x-err": "1" })
                },
                clientStream: () => Promise.resolve({}),
                async *bidiStream() {}
              })
          }))
          for (const codec of ["binary", "json"] as const) {
            const c = yield* clientOf(TestService, url, { codec })
            const ok = yield* c.echo.withResponse({ text: "ok" })
            expect(ok.trailers["x-multi"]).toBe("a, b")
            const unary = yield* Effect.flip(c.echo({ failWith: "x" }))
            expect([unary.code, unary.message, unary.metadata["x-err"]]).toEqual(["aborted", "meta", "1"])
            const stream = yield* c.serverStream.withResponse({})
            expect(yield* collect(stream.messages)).toHaveLength(1)
            expect((yield* stream.trailers)["x-multi"]).toBe("a, b")
            const { error } = yield* collectUntilFailure(c.serverStream({ failWith: "x" }))
            expect([error.code, error.message, error.metadata["x-err"]]).toEqual(["aborted", "meta", "1"])
          }
        }))

      it.scoped("a compression connect-node does not accept: unimplemented, and no response compression it cannot send", () =>
        Effect.gen(function*() {
          const { url } = yield* nodeServer(connectNodeAdapter({ routes: connectNodeRoutes, acceptCompression: [compressionGzip] }))
          const { exchanges, url: proxied } = yield* recordingProxy(url)
          const sendsBr = yield* clientOf(TestService, proxied, { sendCompression: NodeCompression.brotli, compressMinBytes: 0 })
          expect((yield* Effect.flip(sendsBr.echo({ text: "br" }))).code).toBe("unimplemented")
          expect((yield* collectUntilFailure(sendsBr.serverStream({ text: "br", count: 1 }))).error.code).toBe("unimplemented")
          const acceptsBr = yield* clientOf(TestService, proxied, { acceptCompression: [NodeCompression.brotli] })
          const payload = repetitive(4096)
          expectBytes([(yield* acceptsBr.echo({ text: "plain", payload })).payload], [payload])
          expect(exchanges[2]!.responseHeaders["content-encoding"]).toBeUndefined()
        }))

      it.scoped("a message built with create() is sent as is", () =>
        Effect.gen(function*() {
          const c = yield* client()
          const res = yield* c.echo(create(EchoRequestSchema, { text: "created" }))
          expect(res.text).toBe("created")
        }))
    })
  })
})
