/**
 * Interop: @connectrpc/connect-node's client against our server (ConnectServer.layer on
 * node:http) serving TestService, for every RPC kind and both codecs, with compression,
 * errors with details, headers and trailers, timeouts, Connect GET, size limits, unknown
 * methods and handler defects. What our server puts on the wire is checked through a
 * recording proxy where it matters.
 */
import { type DescService, fromBinary, fromJson } from "@bufbuild/protobuf"
import { Code as NodeCode, ConnectError as NodeConnectError, createClient } from "@connectrpc/connect"
import { compressionBrotli, compressionGzip, type ConnectTransportOptions, createConnectTransport } from "@connectrpc/connect-node"
import { describe, expect, it as vitest, layer } from "@effect/vitest"
import { ConnectError, ConnectService } from "connect-effect"
import { ConnectServer, NodeCompression } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import { EchoRequestSchema, ErrorDetailSchema, TestService } from "../gen/connecteffect/test/v1/test_pb.js"
import { MissingService } from "../support/missingService.js"
import { decompressorOf, expectBytes, payloadOf, repetitive } from "../support/bytes.js"
import { bytesOf, envelopesOf, only, recordingProxy } from "../support/recordingProxy.js"
import { ourServer } from "../support/servers.js"

type NodeOptions = Omit<ConnectTransportOptions, "baseUrl" | "httpVersion">

const nodeClientOf = <S extends DescService>(service: S, baseUrl: string, options: NodeOptions = {}) =>
  createClient(service, createConnectTransport({ ...options, baseUrl, httpVersion: "1.1" } as ConnectTransportOptions))

/** The URL of a server Layer built into the current Scope. */
const urlOf = <E, R>(server: Layer.Layer<ConnectServer.ConnectServer, E, R>) =>
  Effect.map(Layer.build(server), (context) => Context.get(context, ConnectServer.ConnectServer).url)

const serverUrl = Effect.map(ConnectServer.ConnectServer, (server) => server.url)

/** A connect-node client of the shared server. */
const client = (options: NodeOptions = {}) => Effect.map(serverUrl, (url) => nodeClientOf(TestService, url, options))

/** A connect-node client going through a recording proxy to the shared server. */
const proxiedClient = (options: NodeOptions = {}) =>
  Effect.gen(function*() {
    const proxy = yield* recordingProxy(yield* serverUrl)
    return { client: nodeClientOf(TestService, proxy.url, options), exchanges: proxy.exchanges }
  })

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

/** The call's failure as a connect-node ConnectError; fails the test if the call succeeds. */
const failure = <A>(f: () => Promise<A>) =>
  Effect.promise(() =>
    f().then(
      () => {
        throw new Error("expected the call to fail")
      },
      (e: unknown) => NodeConnectError.from(e)
    )
  )

const drain = async <A>(iterable: AsyncIterable<A>): Promise<Array<A>> => {
  const out: Array<A> = []
  for await (const a of iterable) out.push(a)
  return out
}

/** The messages received before the stream failed, and its failure; fails if it does not fail. */
const drainUntilFailure = <A>(iterable: () => AsyncIterable<A>) =>
  Effect.promise(async () => {
    const received: Array<A> = []
    try {
      for await (const a of iterable()) received.push(a)
    } catch (e) {
      return { received, error: NodeConnectError.from(e) }
    }
    throw new Error("expected the stream to fail")
  })

async function* requests<A>(items: ReadonlyArray<A>, delayMs = 0) {
  for (const item of items) {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
    yield item
  }
}

const expectError = (error: NodeConnectError, code: NodeCode, text: string) => {
  expect(NodeCode[error.code]).toBe(NodeCode[code])
  expect(error.rawMessage).toBe(`failed: ${text}`)
  const details = error.findDetails(ErrorDetailSchema)
  expect(details.map((d) => ({ reason: d.reason, attempt: d.attempt }))).toEqual([{ reason: text, attempt: 1 }])
}

const codecs = [
  { codec: "binary", useBinaryFormat: true, unaryType: "application/proto", streamType: "application/connect+proto" },
  { codec: "json", useBinaryFormat: false, unaryType: "application/json", streamType: "application/connect+json" }
] as const

const nodeCompressions = [compressionGzip, compressionBrotli]

/** Codes by name, in both libraries' spelling. */
const allCodes: ReadonlyArray<[string, NodeCode]> = [
  ["canceled", NodeCode.Canceled],
  ["unknown", NodeCode.Unknown],
  ["invalid_argument", NodeCode.InvalidArgument],
  ["deadline_exceeded", NodeCode.DeadlineExceeded],
  ["not_found", NodeCode.NotFound],
  ["already_exists", NodeCode.AlreadyExists],
  ["permission_denied", NodeCode.PermissionDenied],
  ["resource_exhausted", NodeCode.ResourceExhausted],
  ["failed_precondition", NodeCode.FailedPrecondition],
  ["aborted", NodeCode.Aborted],
  ["out_of_range", NodeCode.OutOfRange],
  ["unimplemented", NodeCode.Unimplemented],
  ["internal", NodeCode.Internal],
  ["unavailable", NodeCode.Unavailable],
  ["data_loss", NodeCode.DataLoss],
  ["unauthenticated", NodeCode.Unauthenticated]
]

describe("connect-node's client against our server", () => {
  layer(ourServer(), { excludeTestServices: true })((it) => {
    describe.each(codecs)("codec $codec", ({ streamType, unaryType, useBinaryFormat }) => {
      describe("the four kinds of call", () => {
        it.scoped("unary", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient({ useBinaryFormat })
            const res = yield* call(() => client.echo({ text: "hello", payload: new Uint8Array([1, 2, 3]) }))
            expect(res.text).toBe("hello")
            expectBytes([res.payload], [new Uint8Array([1, 2, 3])])
            const exchange = only(exchanges)
            expect(exchange.method).toBe("POST")
            expect(exchange.status).toBe(200)
            expect(exchange.responseHeaders["content-type"]).toBe(unaryType)
          }))

        it.scoped("server stream", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient({ useBinaryFormat })
            const messages = yield* call(() => drain(client.serverStream({ text: "s", count: 3, size: 4 })))
            expect(messages.map((m) => m.text)).toEqual(["s 0", "s 1", "s 2"])
            expectBytes(messages.map((m) => m.payload), [0, 1, 2].map((i) => payloadOf(4, i)))
            expect(only(exchanges).responseHeaders["content-type"]).toBe(streamType)
          }))

        it.scoped("server stream with no messages", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            expect(yield* call(() => drain(c.serverStream({ text: "none", count: 0 })))).toEqual([])
          }))

        it.scoped("client stream", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const res = yield* call(() => c.clientStream(requests([{ text: "a" }, { text: "b" }, { text: "c" }], 5)))
            expect(res.text).toBe("a,b,c")
            expect((yield* call(() => c.clientStream(requests([])))).text).toBe("")
          }))

        it.scoped("bidi stream", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const messages = yield* call(() =>
              drain(c.bidiStream(requests([{ text: "x", payload: new Uint8Array([9]) }, { text: "y" }])))
            )
            expect(messages.map((m) => m.text)).toEqual(["x", "y"])
            expectBytes([messages[0]!.payload], [new Uint8Array([9])])
          }))
      })

      describe("message edge cases", () => {
        it.scoped("the empty message, both ways", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const res = yield* call(() => c.echo({}))
            expect(res.text).toBe("")
            expect(res.payload.byteLength).toBe(0)
            expect((yield* call(() => drain(c.bidiStream(requests([{}, {}]))))).map((m) => m.text)).toEqual(["", ""])
          }))

        it.scoped("non-ASCII text", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const text = "héllo wörld &=?%+"
            expect((yield* call(() => c.echo({ text }))).text).toBe(text)
            expect((yield* call(() => drain(c.serverStream({ text, count: 1 }))))[0]!.text).toBe(`${text} 0`)
          }))

        it.scoped("large messages, split across many reads", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const big = payloadOf(1024 * 1024, 7)
            expectBytes([(yield* call(() => c.echo({ text: "big", payload: big }))).payload], [big])
            const messages = yield* call(() => drain(c.serverStream({ text: "big", count: 3, size: 300_000 })))
            expectBytes(messages.map((m) => m.payload), [0, 1, 2].map((i) => payloadOf(300_000, i)))
            const echoed = yield* call(() =>
              drain(c.bidiStream(requests([{ text: "a", payload: big }, { text: "b", payload: big }])))
            )
            expectBytes(echoed.map((m) => m.payload), [big, big])
            const collected = yield* call(() =>
              c.clientStream(requests([{ text: "a", payload: big }, { text: "b", payload: big }]))
            )
            expect(collected.text).toBe("a,b")
          }))
      })

      describe("streaming behaviour", () => {
        it.scoped("bidi ping-pong: each request is sent only after the previous response (full duplex)", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const result = yield* call(async () => {
              const received: Array<string> = []
              let stalled = false
              let answered: () => void = () => {}
              async function* pings() {
                for (let i = 0; i < 3; i++) {
                  const next = new Promise<void>((resolve) => answered = resolve)
                  yield { text: `ping ${i}` }
                  const timer = setTimeout(() => {
                    stalled = true
                    answered()
                  }, 3000)
                  await next
                  clearTimeout(timer)
                }
              }
              for await (const m of c.bidiStream(pings())) {
                received.push(m.text)
                answered()
              }
              return { received, stalled }
            })
            expect(result).toEqual({ received: ["ping 0", "ping 1", "ping 2"], stalled: false })
          }))
      })

      describe.each(nodeCompressions)("compression $name", (compression) => {
        const options = { useBinaryFormat, sendCompression: compression, acceptCompression: [compression], compressMinBytes: 0 }
        const decompress = decompressorOf(compression.name)
        const decode = (bytes: Uint8Array) =>
          useBinaryFormat
            ? fromBinary(EchoRequestSchema, bytes)
            : fromJson(EchoRequestSchema, JSON.parse(new TextDecoder().decode(bytes)))

        it.scoped("unary: compressed request accepted, response compressed", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient(options)
            const payload = repetitive(4096)
            const res = yield* call(() => client.echo({ text: "zip", payload }))
            expect(res.text).toBe("zip")
            expectBytes([res.payload], [payload])
            const exchange = only(exchanges)
            expect(exchange.requestHeaders["content-encoding"]).toBe(compression.name)
            expect(exchange.responseHeaders["content-encoding"]).toBe(compression.name)
            const received = bytesOf(exchange.responseBody)
            expect(received.byteLength).toBeLessThan(4096)
            expect(decompress(received).byteLength).toBeGreaterThan(4096)
          }))

        it.scoped("unary: a response under compressMinBytes (1 KiB by default) is not compressed", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient(options)
            expect((yield* call(() => client.echo({ text: "tiny" }))).text).toBe("tiny")
            const exchange = only(exchanges)
            expect(exchange.requestHeaders["content-encoding"]).toBe(compression.name)
            expect(exchange.responseHeaders["content-encoding"]).toBeUndefined()
          }))

        it.scoped("server stream: compressed response envelopes", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient(options)
            const messages = yield* call(() => drain(client.serverStream({ text: "s", count: 2, size: 3000 })))
            expectBytes(messages.map((m) => m.payload), [payloadOf(3000, 0), payloadOf(3000, 1)])
            const exchange = only(exchanges)
            expect(exchange.requestHeaders["connect-content-encoding"]).toBe(compression.name)
            expect(exchange.responseHeaders["connect-content-encoding"]).toBe(compression.name)
            const envelopes = envelopesOf(bytesOf(exchange.responseBody))
            expect(envelopes.map((e) => e.flags)).toEqual([1, 1, 2])
            expect(envelopes.slice(0, 2).every((e) => e.data.byteLength < 3000)).toBe(true)
          }))

        it.scoped("client stream: compressed request envelopes accepted", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient(options)
            const res = yield* call(() =>
              client.clientStream(requests([{ text: "a", payload: repetitive(2000) }, { text: "b", payload: repetitive(2000) }]))
            )
            expect(res.text).toBe("a,b")
            const sent = envelopesOf(bytesOf(only(exchanges).requestBody))
            expect(sent.map((e) => e.flags)).toEqual([1, 1])
            expect(sent.map((e) => decode(decompress(e.data)).text)).toEqual(["a", "b"])
            expectBytes([decode(decompress(sent[0]!.data)).payload], [repetitive(2000)])
          }))

        it.scoped("bidi stream: compressed both ways", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient(options)
            const payload = repetitive(5000)
            const messages = yield* call(() => drain(client.bidiStream(requests([{ text: "x", payload }, { text: "y", payload }]))))
            expect(messages.map((m) => m.text)).toEqual(["x", "y"])
            expectBytes(messages.map((m) => m.payload), [payload, payload])
            const exchange = only(exchanges)
            expect(exchange.responseHeaders["connect-content-encoding"]).toBe(compression.name)
            expect(envelopesOf(bytesOf(exchange.responseBody)).map((e) => e.flags)).toEqual([1, 1, 2])
          }))

        it.scoped("a client accepting no compression gets none", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient({ ...options, acceptCompression: [] })
            const payload = repetitive(4096)
            expectBytes([(yield* call(() => client.echo({ text: "plain", payload }))).payload], [payload])
            yield* call(() => drain(client.serverStream({ text: "plain", count: 1, size: 4096 })))
            expect(exchanges[0]!.responseHeaders["content-encoding"]).toBeUndefined()
            expect(exchanges[1]!.responseHeaders["connect-content-encoding"]).toBeUndefined()
            expect(envelopesOf(bytesOf(exchanges[1]!.responseBody)).map((e) => e.flags)).toEqual([0, 2])
          }))
      })

      describe("errors with details", () => {
        it.scoped("unary", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const error = yield* failure(() => c.echo({ text: "no", failWith: "not_found" }))
            expectError(error, NodeCode.NotFound, "no")
            expect(error.metadata.get("x-test-header")).toBe("no")
            expect(error.metadata.get("x-test-trailer")).toBe("done")
          }))

        it.scoped("unary, every code", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            for (const [name, code] of allCodes) {
              expectError(yield* failure(() => c.echo({ text: name, failWith: name })), code, name)
            }
          }))

        it.scoped("server stream: messages, then the error", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const { error, received } = yield* drainUntilFailure(() =>
              c.serverStream({ text: "late", count: 2, failWith: "permission_denied" })
            )
            expect(received.map((m) => m.text)).toEqual(["late 0", "late 1"])
            expectError(error, NodeCode.PermissionDenied, "late")
            expect(error.metadata.get("x-test-trailer")).toBe("done")
          }))

        it.scoped("server stream: the error before any message", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const { error, received } = yield* drainUntilFailure(() =>
              c.serverStream({ text: "early", count: 0, failWith: "failed_precondition" })
            )
            expect(received).toEqual([])
            expectError(error, NodeCode.FailedPrecondition, "early")
          }))

        it.scoped("client stream", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const error = yield* failure(() => c.clientStream(requests([{ text: "a" }, { text: "b", failWith: "already_exists" }])))
            expectError(error, NodeCode.AlreadyExists, "a,b")
          }))

        it.scoped("bidi stream", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const { error, received } = yield* drainUntilFailure(() =>
              c.bidiStream(requests([{ text: "ok" }, { text: "bad", failWith: "aborted" }, { text: "never" }]))
            )
            expect(received.map((m) => m.text)).toEqual(["ok"])
            expectError(error, NodeCode.Aborted, "bad")
          }))
      })

      describe("headers and trailers", () => {
        const headers = { "x-test-a": "1", "x-test-b": "two" }
        const echoed = ["x-test-a: 1", "x-test-b: two"]
        const seen = () => {
          const got: { header: string | null; trailer: string | null; trailerInHeaders: string | null } = {
            header: null,
            trailer: null,
            trailerInHeaders: null
          }
          return {
            got,
            options: {
              headers,
              onHeader: (h: Headers) => {
                got.header = h.get("x-test-header")
                got.trailerInHeaders = h.get("x-test-trailer") ?? h.get("trailer-x-test-trailer")
              },
              onTrailer: (t: Headers) => {
                got.trailer = t.get("x-test-trailer")
              }
            }
          }
        }

        it.scoped("unary", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const { got, options } = seen()
            const res = yield* call(() => c.echo({ text: "meta" }, options))
            expect(res.headers).toEqual(echoed)
            expect(got).toEqual({ header: "meta", trailer: "done", trailerInHeaders: null })
          }))

        it.scoped("server stream", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const { got, options } = seen()
            const messages = yield* call(() => drain(c.serverStream({ text: "meta", count: 2 }, options)))
            expect(messages.map((m) => m.text)).toEqual(["meta 0", "meta 1"])
            expect(got).toEqual({ header: "meta", trailer: "done", trailerInHeaders: null })
          }))

        it.scoped("server stream: headers set before the first message arrive before it", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const { got, options } = seen()
            const header = yield* call(async () => {
              for await (const _ of c.serverStream({ text: "first", count: 3, delayMs: 20 }, options)) {
                return got.header
              }
              return null
            })
            expect(header).toBe("first")
          }))

        it.scoped("client stream", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const { got, options } = seen()
            const res = yield* call(() => c.clientStream(requests([{ text: "p" }, { text: "q" }]), options))
            expect(res.text).toBe("p,q")
            expect(res.headers).toEqual(echoed)
            expect(got).toEqual({ header: "p,q", trailer: "done", trailerInHeaders: null })
          }))

        it.scoped("bidi stream", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            const { got, options } = seen()
            const messages = yield* call(() => drain(c.bidiStream(requests([{ text: "b" }]), options)))
            expect(messages.map((m) => m.headers)).toEqual([echoed])
            expect(got).toEqual({ header: "b", trailer: "done", trailerInHeaders: null })
          }))
      })

      describe("timeouts", () => {
        const delayMs = 2000
        const timeoutMs = 200
        const timed = (f: () => Promise<unknown>) =>
          Effect.gen(function*() {
            const start = Date.now()
            const error = yield* failure(f)
            return { error, elapsed: Date.now() - start }
          })
        const expectDeadline = ({ elapsed, error }: { error: NodeConnectError; elapsed: number }) => {
          expect(NodeCode[error.code]).toBe(NodeCode[NodeCode.DeadlineExceeded])
          expect(elapsed).toBeLessThan(delayMs / 2)
        }

        it.scoped("unary", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            expectDeadline(yield* timed(() => c.echo({ text: "slow", delayMs }, { timeoutMs })))
          }))

        it.scoped("unary within its timeout succeeds", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            expect((yield* call(() => c.echo({ text: "quick", delayMs: 20 }, { timeoutMs: 5000 }))).text).toBe("quick")
          }))

        it.scoped("server stream", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            expectDeadline(yield* timed(() => drain(c.serverStream({ text: "slow", count: 2, delayMs }, { timeoutMs }))))
          }))

        it.scoped("client stream whose requests never end", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            async function* hanging() {
              yield { text: "a" }
              await new Promise(() => {})
            }
            expectDeadline(yield* timed(() => c.clientStream(hanging(), { timeoutMs })))
          }))

        it.scoped("bidi stream", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat })
            expectDeadline(yield* timed(() => drain(c.bidiStream(requests([{ text: "slow", delayMs }]), { timeoutMs }))))
          }))
      })

      describe("Connect GET", () => {
        it.scoped("an idempotent unary call goes as GET and is served", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient({ useBinaryFormat, useHttpGet: true })
            let header: string | null = null
            let trailer: string | null = null
            const res = yield* call(() =>
              client.echo({ text: "get me", payload: new Uint8Array([0, 255]) }, {
                headers: { "x-test-get": "yes" },
                onHeader: (h) => header = h.get("x-test-header"),
                onTrailer: (t) => trailer = t.get("x-test-trailer")
              })
            )
            expect(res.text).toBe("get me")
            expectBytes([res.payload], [new Uint8Array([0, 255])])
            expect(res.headers).toEqual(["x-test-get: yes"])
            expect({ header, trailer }).toEqual({ header: "get me", trailer: "done" })
            const exchange = only(exchanges)
            expect(exchange.method).toBe("GET")
            expect(exchange.status).toBe(200)
            const url = new URL(exchange.url, "http://x")
            expect(url.searchParams.get("encoding")).toBe(useBinaryFormat ? "proto" : "json")
            expect(url.searchParams.get("connect")).toBe("v1")
          }))

        it.scoped("GET with non-ASCII text in the query", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient({ useBinaryFormat, useHttpGet: true })
            const text = "héllo wörld &=?%+ /#"
            expect((yield* call(() => client.echo({ text }))).text).toBe(text)
            expect(only(exchanges).method).toBe("GET")
          }))

        it.scoped("GET with a compressed message", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient({
              useBinaryFormat,
              useHttpGet: true,
              sendCompression: compressionGzip,
              compressMinBytes: 0
            })
            const res = yield* call(() => client.echo({ text: "gz get", payload: repetitive(300) }))
            expect(res.text).toBe("gz get")
            expectBytes([res.payload], [repetitive(300)])
            expect(only(exchanges).method).toBe("GET")
            expect(new URL(only(exchanges).url, "http://x").searchParams.get("compression")).toBe("gzip")
          }))

        it.scoped("GET errors come back with details", () =>
          Effect.gen(function*() {
            const { client, exchanges } = yield* proxiedClient({ useBinaryFormat, useHttpGet: true })
            expectError(yield* failure(() => client.echo({ text: "nope", failWith: "not_found" })), NodeCode.NotFound, "nope")
            expect(only(exchanges).method).toBe("GET")
          }))
      })

      describe("size limits", () => {
        it.scoped("our readMaxBytes: an oversized request is resource_exhausted", () =>
          Effect.gen(function*() {
            const url = yield* urlOf(ourServer({ readMaxBytes: 100 }))
            const c = nodeClientOf(TestService, url, { useBinaryFormat })
            expect((yield* call(() => c.echo({ text: "small" }))).text).toBe("small")
            const big = { text: "big", payload: payloadOf(200, 1) }
            expect(NodeCode[(yield* failure(() => c.echo(big))).code]).toBe("ResourceExhausted")
            expect(NodeCode[(yield* failure(() => c.clientStream(requests([big])))).code]).toBe("ResourceExhausted")
            expect(NodeCode[(yield* failure(() => drain(c.bidiStream(requests([big]))))).code]).toBe("ResourceExhausted")
            // the server is still fine afterwards
            expect((yield* call(() => c.echo({ text: "again" }))).text).toBe("again")
          }))

        it.scoped("our readMaxBytes bounds decompression: small compressed, large decompressed", () =>
          Effect.gen(function*() {
            const url = yield* urlOf(ourServer({ readMaxBytes: 1000 }))
            const c = nodeClientOf(TestService, url, { useBinaryFormat, sendCompression: compressionGzip, compressMinBytes: 0 })
            const bomb = { text: "bomb", payload: new Uint8Array(100_000) }
            expect(NodeCode[(yield* failure(() => c.echo(bomb))).code]).toBe("ResourceExhausted")
            expect(NodeCode[(yield* failure(() => c.clientStream(requests([bomb])))).code]).toBe("ResourceExhausted")
          }))

        it.scoped("our writeMaxBytes: an oversized response is resource_exhausted", () =>
          Effect.gen(function*() {
            const url = yield* urlOf(ourServer({ writeMaxBytes: 1000 }))
            const c = nodeClientOf(TestService, url, { useBinaryFormat })
            expect(NodeCode[(yield* failure(() => c.echo({ text: "big", payload: payloadOf(2000, 1) }))).code]).toBe(
              "ResourceExhausted"
            )
            const { error, received } = yield* drainUntilFailure(() =>
              c.serverStream({ text: "s", count: 2, size: 2000 })
            )
            expect(received).toEqual([])
            expect(NodeCode[error.code]).toBe("ResourceExhausted")
          }))

        it.scoped("connect-node's readMaxBytes: a larger response from us is resource_exhausted", () =>
          Effect.gen(function*() {
            const c = yield* client({ useBinaryFormat, readMaxBytes: 1000, acceptCompression: [] })
            expect(NodeCode[(yield* failure(() => c.echo({ text: "big", payload: payloadOf(2000, 1) }))).code]).toBe(
              "ResourceExhausted"
            )
          }))
      })

      describe("unknown methods", () => {
        it.scoped("a service we do not serve is unimplemented", () =>
          Effect.gen(function*() {
            const missing = nodeClientOf(MissingService, yield* serverUrl, { useBinaryFormat })
            expect(NodeCode[(yield* failure(() => missing.echo({ text: "?" }))).code]).toBe("Unimplemented")
            const { error } = yield* drainUntilFailure(() => missing.serverStream({ text: "?" }))
            expect(NodeCode[error.code]).toBe("Unimplemented")
          }))
      })
    })

    it.scoped("our server enforces Connect-Timeout-Ms itself (raw requests, no client-side timer)", () =>
      Effect.gen(function*() {
        const url = yield* serverUrl
        const start = Date.now()
        const unary = yield* call(() =>
          fetch(`${url}/connecteffect.test.v1.TestService/Echo`, {
            method: "POST",
            headers: { "content-type": "application/json", "connect-protocol-version": "1", "connect-timeout-ms": "200" },
            body: JSON.stringify({ text: "slow", delayMs: 2000 })
          }).then(async (r) => ({ status: r.status, body: await r.json() as { code: string } }))
        )
        expect(unary.body.code).toBe("deadline_exceeded")
        expect(unary.status).toBe(504)
        const body = new TextEncoder().encode(JSON.stringify({ text: "slow", count: 2, delayMs: 2000 }))
        const envelope = new Uint8Array(5 + body.byteLength)
        new DataView(envelope.buffer).setUint32(1, body.byteLength)
        envelope.set(body, 5)
        const stream = yield* call(() =>
          fetch(`${url}/connecteffect.test.v1.TestService/ServerStream`, {
            method: "POST",
            headers: { "content-type": "application/connect+json", "connect-protocol-version": "1", "connect-timeout-ms": "200" },
            body: envelope
          }).then(async (r) => ({ status: r.status, body: new Uint8Array(await r.arrayBuffer()) }))
        )
        expect(stream.status).toBe(200)
        const envelopes = envelopesOf(stream.body)
        expect(envelopes.map((e) => e.flags)).toEqual([2])
        expect(JSON.parse(new TextDecoder().decode(envelopes[0]!.data)).error.code).toBe("deadline_exceeded")
        expect(Date.now() - start).toBeLessThan(1500)
      }))
  })

  vitest.scopedLive("a client that goes away mid-stream interrupts its handler", () =>
    Effect.gen(function*() {
      const finalized = yield* Deferred.make<void>()
      let emitted = 0
      // a 10-second stream whose handler reports when it is stopped
      const TrackedLive = ConnectService.toLayer(TestService, {
        echo: (req) => Effect.succeed({ text: req.text }),
        serverStream: () =>
          Stream.repeatEffect(Effect.sync(() => ({ text: `${emitted++}` }))).pipe(
            Stream.tap(() => Effect.sleep("50 millis")),
            Stream.take(200),
            Stream.ensuring(Deferred.succeed(finalized, undefined))
          ),
        clientStream: () => Effect.succeed({}),
        bidiStream: (reqs) => Stream.map(reqs, (r) => ({ text: r.text }))
      })
      const url = yield* urlOf(ConnectServer.layer({ services: [TestService] }).pipe(Layer.provide(TrackedLive)))
      // a raw HTTP/1.1 request, its connection destroyed after the first chunk
      yield* Effect.async<void>((resume) => {
        const body = new TextEncoder().encode("{}")
        const envelope = new Uint8Array(5 + body.byteLength)
        new DataView(envelope.buffer).setUint32(1, body.byteLength)
        envelope.set(body, 5)
        const req = Http.request(`${url}/connecteffect.test.v1.TestService/ServerStream`, {
          method: "POST",
          headers: { "content-type": "application/connect+json", "connect-protocol-version": "1" }
        }, (res) => {
          res.once("data", () => {
            req.destroy()
            resume(Effect.void)
          })
        })
        req.end(envelope)
      })
      const stopped = yield* Deferred.await(finalized).pipe(Effect.timeout("1 second"), Effect.option)
      expect(stopped._tag).toBe("Some")
      expect(emitted).toBeLessThan(30)
    }))

  vitest.scopedLive("a compression our server does not accept: unimplemented, and no response compression it cannot send", () =>
    Effect.gen(function*() {
      const url = yield* urlOf(ourServer({ acceptCompression: [NodeCompression.gzip] }))
      const { exchanges, url: proxied } = yield* recordingProxy(url)
      const sendsBr = nodeClientOf(TestService, proxied, { sendCompression: compressionBrotli, compressMinBytes: 0 })
      const unary = yield* failure(() => sendsBr.echo({ text: "br" }))
      expect(NodeCode[unary.code]).toBe("Unimplemented")
      expect(unary.rawMessage).toContain("gzip")
      expect(NodeCode[(yield* drainUntilFailure(() => sendsBr.serverStream({ text: "br", count: 1 }))).error.code]).toBe(
        "Unimplemented"
      )
      const acceptsBr = nodeClientOf(TestService, proxied, { acceptCompression: [compressionBrotli] })
      const payload = repetitive(4096)
      expectBytes([(yield* call(() => acceptsBr.echo({ text: "plain", payload }))).payload], [payload])
      expect(exchanges[2]!.responseHeaders["content-encoding"]).toBeUndefined()
    }))

  vitest.scopedLive("error metadata and multi-valued trailers set by our handler", () =>
    Effect.gen(function*() {
      const withTrailers = (ctx: ConnectService.HandlerContext) =>
        Effect.sync(() => {
          ctx.responseTrailers.append("x-multi", "a")
          ctx.responseTrailers.append("x-multi", "b")
        })
      const metaError = ConnectError.make("aborted", "meta", { metadata: { "x-err": "1" } })
      const MetaLive = ConnectService.toLayer(TestService, {
        echo: (req, ctx) =>
          Effect.zipRight(withTrailers(ctx), req.failWith === "" ? Effect.succeed({ text: req.text }) : Effect.fail(metaError)),
        serverStream: (req, ctx) =>
          Stream.concat(
            Stream.fromEffect(Effect.as(withTrailers(ctx), { text: "one" })),
            req.failWith === "" ? Stream.empty : Stream.fail(metaError)
          ),
        clientStream: () => Effect.succeed({}),
        bidiStream: (reqs) => Stream.map(reqs, (r) => ({ text: r.text }))
      })
      const url = yield* urlOf(ConnectServer.layer({ services: [TestService] }).pipe(Layer.provide(MetaLive)))
      for (const useBinaryFormat of [true, false]) {
        const c = nodeClientOf(TestService, url, { useBinaryFormat })
        let trailer: string | null = null
        yield* call(() => c.echo({ text: "ok" }, { onTrailer: (t) => trailer = t.get("x-multi") }))
        expect(trailer).toBe("a, b")
        const unary = yield* failure(() => c.echo({ failWith: "x" }))
        expect([NodeCode[unary.code], unary.rawMessage, unary.metadata.get("x-err")]).toEqual(["Aborted", "meta", "1"])
        trailer = null
        yield* call(() => drain(c.serverStream({}, { onTrailer: (t) => trailer = t.get("x-multi") })))
        expect(trailer).toBe("a, b")
        const { error } = yield* drainUntilFailure(() => c.serverStream({ failWith: "x" }))
        expect([NodeCode[error.code], error.rawMessage, error.metadata.get("x-err")]).toEqual(["Aborted", "meta", "1"])
      }
    }))

  describe("handler defects and unexpected failures", () => {
    const secret = "secret-defect-text"
    const logged: Array<string> = []
    const CaptureLogs = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ cause, message }) => logged.push(`${String(message)} ${String(cause)}`))
    )
    /**
     * TestService whose handlers go wrong, each in the way the request's text names: `die`
     * (a defect), `fail` (a failure that is no ConnectError) or `throw` (the handler
     * function throws instead of returning).
     */
    const BrokenLive = ConnectService.toLayer(TestService, {
      echo: (req) =>
        req.text === "throw"
          ? (() => {
            throw new Error(`${secret} thrown`)
          })()
          : req.text === "fail"
          ? Effect.fail(new Error(`${secret} failed`))
          : Effect.die(new Error(`${secret} died`)),
      serverStream: (req) =>
        req.text === "throw"
          ? (() => {
            throw new Error(`${secret} thrown`)
          })()
          : Stream.concat(
            Stream.make({ text: "first" }),
            req.text === "fail" ? Stream.fail(new Error(`${secret} failed`)) : Stream.die(new Error(`${secret} died`))
          ),
      clientStream: (reqs) =>
        Effect.flatMap(Stream.runCollect(reqs), () => Effect.die(new Error(`${secret} died`))),
      bidiStream: (reqs) => Stream.flatMap(reqs, () => Stream.die(new Error(`${secret} died`)))
    })
    const BrokenServer = ConnectServer.layer({ services: [TestService] }).pipe(
      Layer.provide(BrokenLive),
      Layer.provide(CaptureLogs)
    )

    layer(BrokenServer, { excludeTestServices: true })((it) => {
      const expectInternal = (error: NodeConnectError) => {
        expect(NodeCode[error.code]).toBe("Internal")
        expect(error.message).not.toContain(secret)
        expect(error.details).toEqual([])
        for (const [, value] of error.metadata) expect(value).not.toContain(secret)
      }

      describe.each(codecs)("codec $codec", ({ useBinaryFormat }) => {
        it.effect("unary: a defect, a non-Connect failure and a throwing handler are internal, without their text", () =>
          Effect.gen(function*() {
            const c = nodeClientOf(TestService, yield* serverUrl, { useBinaryFormat })
            for (const text of ["die", "fail", "throw"]) expectInternal(yield* failure(() => c.echo({ text })))
            // the server survives
            expectInternal(yield* failure(() => c.echo({ text: "die" })))
          }))

        it.effect("server stream: a defect after a message is internal, without its text", () =>
          Effect.gen(function*() {
            const c = nodeClientOf(TestService, yield* serverUrl, { useBinaryFormat })
            for (const text of ["die", "fail"]) {
              const { error, received } = yield* drainUntilFailure(() => c.serverStream({ text }))
              expect(received.map((m) => m.text)).toEqual(["first"])
              expectInternal(error)
            }
            expectInternal((yield* drainUntilFailure(() => c.serverStream({ text: "throw" }))).error)
          }))

        it.effect("client and bidi streams: a defect is internal, without its text", () =>
          Effect.gen(function*() {
            const c = nodeClientOf(TestService, yield* serverUrl, { useBinaryFormat })
            expectInternal(yield* failure(() => c.clientStream(requests([{ text: "a" }]))))
            expectInternal((yield* drainUntilFailure(() => c.bidiStream(requests([{ text: "a" }])))).error)
          }))
      })

      it.effect("the defects are logged on the server, with their text", () =>
        Effect.sync(() => {
          expect(logged.some((line) => line.includes(`${secret} died`))).toBe(true)
          expect(logged.some((line) => line.includes(`${secret} failed`))).toBe(true)
          expect(logged.some((line) => line.includes(`${secret} thrown`))).toBe(true)
        }))
    })
  })
})
