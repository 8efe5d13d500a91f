/**
 * gRPC and gRPC-Web with hostile or broken peers. Server: raw node:http2 and node:http requests
 * with bad timeouts, unknown encodings, lying envelope lengths, truncated bodies, wrong methods
 * and content types; each gets the right status, and the server serves a good call after.
 * Client: servers that answer with no status, a broken trailers frame, data after the trailers,
 * a proxy's error page; each call fails with the right code.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient } from "connect-effect"
import { ConnectServer, NodeCompression, NodeTransport } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Http2 from "node:http2"
import { EchoRequestSchema, TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { h2Server } from "./support/h2Servers.js"
import { nodeServer, ourServer } from "./support/servers.js"

const envelope = (flags: number, data: Uint8Array, declared = data.byteLength) => {
  const out = new Uint8Array(5 + data.byteLength)
  out[0] = flags
  new DataView(out.buffer).setUint32(1, declared)
  out.set(data, 5)
  return out
}

const echoRequest = (text: string) => toBinary(EchoRequestSchema, create(EchoRequestSchema, { text }))

interface Answer {
  readonly headers: Record<string, string>
  readonly trailers: Record<string, string>
  readonly body: Buffer
}

const flat = (headers: Http2.IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]))

/** One raw h2c request to `url`, answered (headers, body, trailers) or reset. */
const h2Request = (url: string, headers: Http2.OutgoingHttpHeaders, body: Uint8Array | undefined) =>
  Effect.async<Answer, Error>((resume) => {
    const session = Http2.connect(url)
    session.on("error", () => {})
    const stream = session.request({ ":method": "POST", ":path": "/connecteffect.test.v1.TestService/Echo", te: "trailers", ...headers })
    let responseHeaders: Record<string, string> = {}
    let trailers: Record<string, string> = {}
    const chunks: Array<Buffer> = []
    stream.on("response", (h) => responseHeaders = flat(h))
    stream.on("trailers", (t) => trailers = flat(t))
    stream.on("data", (c: Buffer) => chunks.push(c))
    stream.on("error", (e) => {
      session.close()
      resume(Effect.fail(e))
    })
    stream.on("close", () => {
      session.close()
      resume(Effect.succeed({ headers: responseHeaders, trailers, body: Buffer.concat(chunks) }))
    })
    stream.end(body)
  })

const grpcHeaders = { "content-type": "application/grpc" }

/** The status of a gRPC answer: in the trailers, or in the headers of a trailers-only one. */
const statusOf = (answer: Answer) => answer.trailers["grpc-status"] ?? answer.headers["grpc-status"]

describe("our gRPC server with hostile requests", () => {
  const withServer = <A, E>(test: (url: string) => Effect.Effect<A, E>, options: Parameters<typeof ourServer>[0] = {}) =>
    Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(ourServer(options))
      const { url } = Context.get(context, ConnectServer.ConnectServer)
      yield* test(url)
      // Whatever came before, a good call is still answered.
      const good = yield* h2Request(url, grpcHeaders, envelope(0, echoRequest("still here")))
      expect(statusOf(good)).toBe("0")
    }))

  it.live("a grpc-timeout that is not 1-8 digits and a unit: invalid_argument (3), trailers-only", () =>
    withServer((url) =>
      Effect.gen(function*() {
        for (const timeout of ["1x", "123456789m", "", "-1S", "1.5S"]) {
          const answer = yield* h2Request(url, { ...grpcHeaders, "grpc-timeout": timeout }, envelope(0, echoRequest("t")))
          expect(answer.headers["grpc-status"]).toBe("3")
          expect(answer.body.byteLength).toBe(0)
        }
      })
    ))

  it.live("an unknown grpc-encoding: unimplemented (12), naming the ones we accept", () =>
    withServer((url) =>
      Effect.gen(function*() {
        const answer = yield* h2Request(url, { ...grpcHeaders, "grpc-encoding": "snappy" }, envelope(1, echoRequest("x")))
        expect(answer.headers["grpc-status"]).toBe("12")
        expect(decodeURIComponent(answer.headers["grpc-message"]!)).toContain("gzip")
        expect(answer.headers["grpc-accept-encoding"]).toBe(NodeCompression.defaults.map((c) => c.name).join(","))
      })
    ))

  it.live("an envelope declaring 100 MB: resource_exhausted (8) before the body is read", () =>
    withServer((url) =>
      Effect.gen(function*() {
        const answer = yield* h2Request(url, grpcHeaders, envelope(0, new Uint8Array(10), 100 * 1024 * 1024))
        expect(statusOf(answer)).toBe("8")
      })
    ))

  it.live("truncated bodies and a compressed flag with no encoding fail with a status, never a hang", () =>
    withServer((url) =>
      Effect.gen(function*() {
        const cut = yield* h2Request(url, grpcHeaders, envelope(0, echoRequest("abc")).subarray(0, 7))
        expect(["3", "13"]).toContain(statusOf(cut))
        const halfPrefix = yield* h2Request(url, grpcHeaders, new Uint8Array([0, 0]))
        expect(["3", "13"]).toContain(statusOf(halfPrefix))
        const flagged = yield* h2Request(url, grpcHeaders, envelope(1, echoRequest("x")))
        expect(statusOf(flagged)).toBe("13")
        const garbage = yield* h2Request(url, grpcHeaders, envelope(0, new Uint8Array([0xff, 0xff, 0xff, 0xff])))
        expect(statusOf(garbage)).toBe("3")
      })
    ))

  it.live("an empty envelope flagged compressed is the empty message (grpc-go's zstd writes nothing for it)", () =>
    withServer((url) =>
      Effect.gen(function*() {
        for (const encoding of ["gzip", "br"]) {
          const answer = yield* h2Request(url, { ...grpcHeaders, "grpc-encoding": encoding }, envelope(1, new Uint8Array(0)))
          expect(statusOf(answer)).toBe("0")
        }
      })
    ))

  it.live("a PUT is 405 (a GET is a Connect GET), a codec we do not have is 415", () =>
    withServer((url) =>
      Effect.gen(function*() {
        const put = yield* h2Request(url, { ...grpcHeaders, ":method": "PUT" }, envelope(0, echoRequest("x")))
        expect(put.headers[":status"]).toBe("405")
        const thrift = yield* h2Request(url, { "content-type": "application/grpc+thrift" }, envelope(0, echoRequest("x")))
        expect(thrift.headers[":status"]).toBe("415")
      })
    ))

  it.live("a server limited to Connect answers gRPC with 415", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(ourServer({ protocols: ["connect"] }))
      const { url } = Context.get(context, ConnectServer.ConnectServer)
      const answer = yield* h2Request(url, grpcHeaders, envelope(0, echoRequest("x")))
      expect(answer.headers[":status"]).toBe("415")
    }).pipe(Effect.scoped))
})

type Respond = (req: Http2.Http2ServerRequest, res: Http2.Http2ServerResponse) => void

const clientOf = (url: string, protocol: "grpc" | "grpc-web") =>
  Effect.gen(function*() {
    const context = yield* Layer.build(NodeTransport.layerHttp2({ baseUrl: url, protocol }))
    return yield* Effect.provide(ConnectClient.make(TestService), context)
  })

/** A raw h2c server answering every call with `respond`, and our client of it. */
const brokenServer = (protocol: "grpc" | "grpc-web", respond: Respond) =>
  Effect.flatMap(h2Server({ request: respond }), (server) => clientOf(server.url, protocol))

const okMessage = envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: "ok" })))

describe("our gRPC and gRPC-Web clients with broken servers", () => {
  it.live("a response with no grpc-status: internal", () =>
    Effect.gen(function*() {
      const client = yield* brokenServer("grpc", (_, res) => {
        res.writeHead(200, { "content-type": "application/grpc" })
        res.end(okMessage)
      })
      const error = yield* Effect.flip(client.echo({ text: "x" }))
      expect(error.code).toBe("internal")
      expect(error.message).toContain("grpc-status")
    }).pipe(Effect.scoped))

  it.live("a gRPC-Web body with no trailers frame, a broken one, or data after it: internal", () =>
    Effect.gen(function*() {
      const bodies = [
        okMessage,
        Buffer.concat([okMessage, envelope(0x80, new TextEncoder().encode("no colon here\r\n"))]),
        Buffer.concat([okMessage, envelope(0x80, new TextEncoder().encode("grpc-status: 0\r\n")), okMessage])
      ]
      for (const body of bodies) {
        const client = yield* brokenServer("grpc-web", (_, res) => {
          res.writeHead(200, { "content-type": "application/grpc-web+proto" })
          res.end(body)
        })
        expect((yield* Effect.flip(client.echo({ text: "x" }))).code).toBe("internal")
      }
    }).pipe(Effect.scoped))

  it.live("a proxy's error page (503 text/html): unavailable; a 200 that is not gRPC: unknown", () =>
    Effect.gen(function*() {
      const proxy = yield* brokenServer("grpc", (_, res) => {
        res.writeHead(503, { "content-type": "text/html" })
        res.end("<h1>upstream down</h1>")
      })
      expect((yield* Effect.flip(proxy.echo({ text: "x" }))).code).toBe("unavailable")
      const html = yield* brokenServer("grpc", (_, res) => {
        res.writeHead(200, { "content-type": "text/html" })
        res.end("<h1>hello</h1>")
      })
      expect((yield* Effect.flip(html.echo({ text: "x" }))).code).toBe("unknown")
    }).pipe(Effect.scoped))

  it.live("a status in the headers of a trailers-only response, with a percent-encoded message", () =>
    Effect.gen(function*() {
      const client = yield* brokenServer("grpc", (req, res) => {
        req.stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "7", "grpc-message": "caf%C3%A9 %ZZ" }, { endStream: true })
        void res
      })
      const error = yield* Effect.flip(Stream.runDrain(client.serverStream({ text: "x", count: 1 })))
      expect(error.code).toBe("permission_denied")
      expect(error.message).toBe("café %ZZ")
    }).pipe(Effect.scoped))

  it.live("gRPC-Web over HTTP/1.1 on undici, against a node:http server that cuts the body short: a code, not a hang", () =>
    Effect.gen(function*() {
      const { url } = yield* nodeServer((_, res) => {
        res.writeHead(200, { "content-type": "application/grpc-web+proto" })
        res.write(okMessage.subarray(0, 6))
        res.destroy()
      })
      const context = yield* Layer.build(NodeTransport.layerUndici({ baseUrl: url, protocol: "grpc-web" }))
      const client = yield* Effect.provide(ConnectClient.make(TestService), context)
      const error = yield* Effect.flip(client.echo({ text: "x" }, { timeout: "5 seconds" }))
      expect(["unavailable", "internal", "invalid_argument"]).toContain(error.code)
    }).pipe(Effect.scoped))
})

