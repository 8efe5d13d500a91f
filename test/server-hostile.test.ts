/**
 * Our server under hostile input, spoken to in raw HTTP: every bad request gets a clear
 * Connect error (never a crash or a hang), and the server keeps serving afterwards.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Code, ConnectError, ConnectService } from "connect-effect"
import { ConnectServer } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import fc from "fast-check"
import * as Http from "node:http"
import * as Net from "node:net"
import { Buffer } from "node:buffer"
import * as zlib from "node:zlib"
import {
  EchoRequestSchema,
  EchoResponseSchema,
  ServerStreamRequestSchema,
  TestService
} from "./gen/connecteffect/test/v1/test_pb.js"
import { envelope, jsonOf, parseStreamBody, type RawRequest, rawRequest, type RawResponse } from "./support/rawHttp.js"
import { ourServer } from "./support/servers.js"
import { SideEffectService } from "./support/sideEffectService.js"

const readMaxBytes = 64 * 1024
const echoPath = `/${TestService.typeName}/Echo`
const serverStreamPath = `/${TestService.typeName}/ServerStream`
const clientStreamPath = `/${TestService.typeName}/ClientStream`
const bidiPath = `/${TestService.typeName}/BidiStream`

const echoBytes = (init: Parameters<typeof create<typeof EchoRequestSchema>>[1] = {}) =>
  toBinary(EchoRequestSchema, create(EchoRequestSchema, init))

const proto = { "content-type": "application/proto", "connect-protocol-version": "1" }
const streamProto = { "content-type": "application/connect+proto", "connect-protocol-version": "1" }

const send = (request: RawRequest, timeout: Duration.DurationInput = "5 seconds") =>
  Effect.flatMap(ConnectServer.ConnectServer, ({ url }) =>
    rawRequest(url, request).pipe(
      Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error(`no response to ${request.path} within ${Duration.format(timeout)}`) }),
      Effect.orDie
    ))

/** A valid Echo, answered correctly: the server is still serving. */
const healthy = Effect.gen(function*() {
  const res = yield* send({ path: echoPath, headers: proto, body: echoBytes({ text: "still here" }) })
  expect(res.status).toBe(200)
  expect(fromBinary(EchoResponseSchema, res.body).text).toBe("still here")
})

/** A unary Connect error response: status, JSON content type, and the code in the body. */
const expectUnaryError = (res: RawResponse, status: number, code: string) => {
  expect({ status: res.status, contentType: res.headers["content-type"] }).toEqual({ status, contentType: "application/json" })
  const json = jsonOf(res.body)
  expect(json.code).toBe(code)
  return json as { code: string; message?: string }
}

/** A streaming response that ended with an error of `code`. */
const expectStreamError = (res: RawResponse, code: string) => {
  expect(res.status).toBe(200)
  expect(res.headers["content-type"]).toBe("application/connect+proto")
  const parsed = parseStreamBody(res.body)
  expect(parsed.end.error?.code).toBe(code)
  return parsed
}

const gzipBomb = zlib.gzipSync(new Uint8Array(16 * 1024 * 1024)) // 16 MiB of zeros in about 16 KiB

describe("server: hostile unary requests", () => {
  layer(ourServer({ readMaxBytes }), { timeout: "30 seconds", excludeTestServices: true })((it) => {
    it.effect("sanity: the compressed bomb fits in readMaxBytes before decompression", () =>
      Effect.sync(() => expect(gzipBomb.byteLength).toBeLessThan(readMaxBytes)))

    it.effect("wrong or missing content type is 415 with Accept-Post", () =>
      Effect.gen(function*() {
        for (const type of ["text/plain", "application/xml", "application/connect+proto", "application/protobuf", undefined]) {
          const res = yield* send({ path: echoPath, headers: type === undefined ? {} : { "content-type": type }, body: echoBytes() })
          expect([type, res.status]).toEqual([type, 415])
          expect(res.headers["accept-post"]).toContain("application/proto")
        }
        // and a unary content type on a streaming method
        const res = yield* send({ path: clientStreamPath, headers: proto, body: echoBytes() })
        expect(res.status).toBe(415)
        expect(res.headers["accept-post"]).toContain("application/connect+proto")
        yield* healthy
      }))

    it.effect("an unknown path is 404 with code unimplemented", () =>
      Effect.gen(function*() {
        for (const path of [`/${TestService.typeName}/Nope`, "/nope.v1.Nope/Echo", "/", "/%ff%00", `/${TestService.typeName}/Echo/extra`]) {
          const res = yield* send({ path, headers: proto, body: echoBytes() })
          expectUnaryError(res, 404, "unimplemented")
        }
        yield* healthy
      }))

    it.effect("GET on a streaming method is 405 (Allow: POST), other methods on Echo are 405 (Allow: GET, POST)", () =>
      Effect.gen(function*() {
        for (const path of [serverStreamPath, clientStreamPath, bidiPath]) {
          const res = yield* send({ method: "GET", path: `${path}?encoding=proto&message=` })
          expect([path, res.status, res.headers["allow"]]).toEqual([path, 405, "POST"])
        }
        for (const method of ["PUT", "DELETE", "PATCH"]) {
          const res = yield* send({ method, path: echoPath, headers: proto, body: echoBytes() })
          expect([method, res.status, res.headers["allow"]]).toEqual([method, 405, "GET, POST"])
        }
        yield* healthy
      }))

    it.effect("unary: bytes that are not a protobuf message are 400 invalid_argument", () =>
      Effect.gen(function*() {
        for (const body of [new Uint8Array([0xff, 0xff, 0xff, 0xff]), new Uint8Array([0x0a, 0x05, 0x61]), new Uint8Array([0x08])]) {
          const json = expectUnaryError(yield* send({ path: echoPath, headers: proto, body }), 400, "invalid_argument")
          expect(json.message).toContain("EchoRequest")
        }
        yield* healthy
      }))

    it.effect("unary: invalid JSON, a wrong field type, or invalid UTF-8 is 400 invalid_argument", () =>
      Effect.gen(function*() {
        const json = { "content-type": "application/json", "connect-protocol-version": "1" }
        for (const body of ["{not json", "[1,2]", "{\"text\": 5}", "{\"delayMs\": \"soon\"}", new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d])]) {
          expectUnaryError(yield* send({ path: echoPath, headers: json, body }), 400, "invalid_argument")
        }
        yield* healthy
      }))

    it.effect("unary: a body above readMaxBytes is 429 resource_exhausted, with Content-Length or chunked", () =>
      Effect.gen(function*() {
        const big = echoBytes({ payload: new Uint8Array(readMaxBytes + 1) })
        expectUnaryError(yield* send({ path: echoPath, headers: proto, body: big }), 429, "resource_exhausted")
        // No Content-Length: the server must count the bytes as they come.
        const chunks = Array.from({ length: 40 }, (_, i) => big.subarray(i * 2048, (i + 1) * 2048)).filter((c) => c.byteLength > 0)
        expectUnaryError(yield* send({ path: echoPath, headers: proto, body: chunks }), 429, "resource_exhausted")
        // A declared length above the limit is refused before the body is read.
        expectUnaryError(
          yield* send({ path: echoPath, headers: { ...proto, "content-length": String(readMaxBytes * 1000) }, body: new Uint8Array(10), leaveOpen: true }),
          429,
          "resource_exhausted"
        )
        yield* healthy
      }))

    it.effect("unary: a gzip body that expands past readMaxBytes is 429 resource_exhausted", () =>
      Effect.gen(function*() {
        const start = Date.now()
        const json = expectUnaryError(
          yield* send({ path: echoPath, headers: { ...proto, "content-encoding": "gzip" }, body: gzipBomb }),
          429,
          "resource_exhausted"
        )
        expect(json.message).toContain(String(readMaxBytes))
        expect(Date.now() - start).toBeLessThan(2000)
        yield* healthy
      }))

    it.effect("unary: corrupt gzip is 400 invalid_argument", () =>
      Effect.gen(function*() {
        const body = zlib.gzipSync(echoBytes({ text: "x" })).subarray(0, 12)
        expectUnaryError(yield* send({ path: echoPath, headers: { ...proto, "content-encoding": "gzip" }, body }), 400, "invalid_argument")
        expectUnaryError(
          yield* send({ path: echoPath, headers: { ...proto, "content-encoding": "gzip" }, body: echoBytes({ text: "plain" }) }),
          400,
          "invalid_argument"
        )
        yield* healthy
      }))

    it.effect("unary: zero-length content is not decompressed (spec), even with Content-Encoding gzip", () =>
      Effect.gen(function*() {
        const res = yield* send({ path: echoPath, headers: { ...proto, "content-encoding": "gzip" }, body: new Uint8Array(0) })
        expect([res.status, new TextDecoder().decode(res.body)]).toEqual([200, ""])
        // and the same for a GET whose message parameter is empty
        const get = yield* send({ method: "GET", path: `${echoPath}?connect=v1&encoding=proto&base64=1&compression=gzip&message=` })
        expect([get.status, new TextDecoder().decode(get.body)]).toEqual([200, ""])
        yield* healthy
      }))

    it.effect("unary: an unknown content encoding is unimplemented, naming the accepted encodings", () =>
      Effect.gen(function*() {
        // Not zstd: the server accepts it where node:zlib has it (Node 22.15 on).
        for (const encoding of ["deflate", "snappy"]) {
          const json = expectUnaryError(
            yield* send({ path: echoPath, headers: { ...proto, "content-encoding": encoding }, body: echoBytes() }),
            501,
            "unimplemented"
          )
          expect(json.message).toContain(encoding)
          expect(json.message).toContain("gzip")
          expect(json.message).toContain("br")
        }
        yield* healthy
      }))

    it.effect("content codings are case-insensitive (RFC 9110): GZIP is gzip, in every encoding header and list", () =>
      Effect.gen(function*() {
        // Long enough to be compressed on the way back (compressMinBytes).
        const text = "shouted ".repeat(200)
        const body = zlib.gzipSync(echoBytes({ text }))
        const unary = yield* send({
          path: echoPath,
          headers: { ...proto, "content-encoding": "GZIP", "accept-encoding": "Snappy, GZIP;q=0.5" },
          body
        })
        expect([unary.status, unary.headers["content-encoding"]]).toEqual([200, "gzip"])
        expect(fromBinary(EchoResponseSchema, zlib.gunzipSync(unary.body)).text).toBe(text)
        const streamed = yield* send({
          path: bidiPath,
          headers: { ...streamProto, "connect-content-encoding": " Gzip ", "connect-accept-encoding": "BR" },
          body: envelope(1, body)
        })
        expect([streamed.status, streamed.headers["connect-content-encoding"]]).toEqual([200, "br"])
        const get = yield* send({
          method: "GET",
          path: `${echoPath}?connect=v1&encoding=proto&base64=1&compression=GZIP&message=${body.toString("base64url")}`
        })
        expect(fromBinary(EchoResponseSchema, get.body).text).toBe(text)
        const grpcWeb = yield* send({
          path: echoPath,
          headers: { "content-type": "application/grpc-web+proto", "grpc-encoding": "GZIP", "grpc-accept-encoding": "Snappy,GZIP" },
          body: envelope(1, body)
        })
        expect([grpcWeb.status, grpcWeb.headers["grpc-encoding"]]).toEqual([200, "gzip"])
        expect(Buffer.from(grpcWeb.body).toString("latin1")).toMatch(/grpc-status: ?0\r\n/)
      }))

    it.effect("unary: a malformed Connect-Timeout-Ms is 400 invalid_argument", () =>
      Effect.gen(function*() {
        for (const timeout of ["abc", "-1", "1.5", "12345678901", "1e3", "0x10", "+5"]) {
          const res = yield* send({ path: echoPath, headers: { ...proto, "connect-timeout-ms": timeout }, body: echoBytes() })
          expect([timeout, res.status, jsonOf(res.body).code]).toEqual([timeout, 400, "invalid_argument"])
        }
        yield* healthy
      }))

    it.effect("unary: Connect-Protocol-Version other than 1 is 400 invalid_argument", () =>
      Effect.gen(function*() {
        for (const version of ["2", "0", "v1", ""]) {
          const res = yield* send({ path: echoPath, headers: { ...proto, "connect-protocol-version": version }, body: echoBytes() })
          expect([version, res.status, jsonOf(res.body).code]).toEqual([version, 400, "invalid_argument"])
        }
        yield* healthy
      }))

    it.effect("GET: bad query parameters are 400 invalid_argument", () =>
      Effect.gen(function*() {
        for (
          const query of [
            "encoding=proto&base64=1&message=%%%",
            "encoding=xml&message=",
            "message=",
            "connect=v2&encoding=proto&message=",
            "encoding=proto&base64=1&message=A",
            "encoding=json&message=%7Bnot"
          ]
        ) {
          const res = yield* send({ method: "GET", path: `${echoPath}?${query}` })
          expect([query, res.status, jsonOf(res.body).code]).toEqual([query, 400, "invalid_argument"])
        }
        const res = yield* send({ method: "GET", path: `${echoPath}?encoding=proto&compression=snappy&base64=1&message=` })
        expectUnaryError(res, 501, "unimplemented")
        yield* healthy
      }))

    it.effect("timeout: Connect-Timeout-Ms 50 with a 2 s handler is deadline_exceeded well before 2 s", () =>
      Effect.gen(function*() {
        const start = Date.now()
        const res = yield* send({ path: echoPath, headers: { ...proto, "connect-timeout-ms": "50" }, body: echoBytes({ delayMs: 2000 }) })
        const elapsed = Date.now() - start
        expectUnaryError(res, 504, "deadline_exceeded")
        expect(elapsed).toBeLessThan(1000)
        yield* healthy
      }))

    it.effect("timeout: a client that stalls its body past Connect-Timeout-Ms gets deadline_exceeded, not a hang", () =>
      Effect.gen(function*() {
        const start = Date.now()
        const body = echoBytes({ text: "half", payload: new Uint8Array(1000) })
        const unary = yield* send({
          path: echoPath,
          headers: { ...proto, "connect-timeout-ms": "100", "content-length": String(body.byteLength) },
          body: body.subarray(0, 300),
          leaveOpen: true
        }, "3 seconds")
        expectUnaryError(unary, 504, "deadline_exceeded")
        const stream = yield* send({
          path: clientStreamPath,
          headers: { ...streamProto, "connect-timeout-ms": "100" },
          body: [envelope(0, echoBytes({ text: "one" }))],
          leaveOpen: true
        }, "3 seconds")
        expectStreamError(stream, "deadline_exceeded")
        const bidi = yield* send({
          path: bidiPath,
          headers: { ...streamProto, "connect-timeout-ms": "100" },
          body: [envelope(0, echoBytes({ text: "one" }))],
          leaveOpen: true
        }, "3 seconds")
        expect(expectStreamError(bidi, "deadline_exceeded").messages.length).toBe(1)
        expect(Date.now() - start).toBeLessThan(2000)
        yield* healthy
      }))

    it.effect("GET: the message in URL-safe base64, padded (percent-encoded) or not, and in percent-encoded JSON", () =>
      Effect.gen(function*() {
        const bytes = echoBytes({ text: "get me?" })
        const unpadded = Buffer.from(bytes).toString("base64url")
        const padded = encodeURIComponent(Buffer.from(bytes).toString("base64").replace(/\+/g, "-").replace(/\//g, "_"))
        for (const message of [unpadded, padded]) {
          const res = yield* send({ method: "GET", path: `${echoPath}?connect=v1&encoding=proto&base64=1&message=${message}` })
          expect([message, res.status]).toEqual([message, 200])
          expect(fromBinary(EchoResponseSchema, res.body).text).toBe("get me?")
        }
        const json = encodeURIComponent(JSON.stringify({ text: "get me?" }))
        const res = yield* send({ method: "GET", path: `${echoPath}?connect=v1&encoding=json&message=${json}` })
        expect(res.status).toBe(200)
        expect(jsonOf(res.body).text).toBe("get me?")
      }))

    it.effect("timeout: a server stream past its Connect-Timeout-Ms ends with deadline_exceeded", () =>
      Effect.gen(function*() {
        const start = Date.now()
        const request = toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "t", count: 10, delayMs: 30 }))
        const res = yield* send({ path: serverStreamPath, headers: { ...streamProto, "connect-timeout-ms": "100" }, body: envelope(0, request) })
        const parsed = expectStreamError(res, "deadline_exceeded")
        expect(parsed.messages.length).toBeLessThan(10)
        expect(Date.now() - start).toBeLessThan(1500)
        yield* healthy
      }))
  })
})

describe("server: hostile streaming requests", () => {
  layer(ourServer({ readMaxBytes }), { timeout: "30 seconds", excludeTestServices: true })((it) => {
    const message = (text: string) => envelope(0, echoBytes({ text }))

    it.effect("a truncated envelope ends the stream with invalid_argument", () =>
      Effect.gen(function*() {
        for (const path of [clientStreamPath, bidiPath]) {
          const truncated = envelope(0, new Uint8Array(3), 10)
          expectStreamError(yield* send({ path, headers: streamProto, body: truncated }), "invalid_argument")
          // a partial header only
          expectStreamError(yield* send({ path, headers: streamProto, body: new Uint8Array([0, 0, 0]) }), "invalid_argument")
        }
        yield* healthy
      }))

    it.effect("a 4 GiB length prefix is resource_exhausted at once, without waiting for the body", () =>
      Effect.gen(function*() {
        for (const path of [clientStreamPath, bidiPath, serverStreamPath]) {
          const res = yield* send({ path, headers: streamProto, body: envelope(0, new Uint8Array(0), 0xffffffff), leaveOpen: true }, "2 seconds")
          expectStreamError(res, "resource_exhausted")
        }
        yield* healthy
      }))

    it.effect("a length prefix just above readMaxBytes is resource_exhausted", () =>
      Effect.gen(function*() {
        const res = yield* send({ path: clientStreamPath, headers: streamProto, body: envelope(0, new Uint8Array(0), readMaxBytes + 1), leaveOpen: true }, "2 seconds")
        expectStreamError(res, "resource_exhausted")
        yield* healthy
      }))

    it.effect("garbage after a valid envelope ends the stream with invalid_argument", () =>
      Effect.gen(function*() {
        const body = [message("a"), new Uint8Array([0xde, 0xad, 0xbe])]
        expectStreamError(yield* send({ path: clientStreamPath, headers: streamProto, body }), "invalid_argument")
        const bidi = expectStreamError(yield* send({ path: bidiPath, headers: streamProto, body }), "invalid_argument")
        expect(bidi.messages.map((m) => fromBinary(EchoResponseSchema, m).text)).toEqual(["a"])
        yield* healthy
      }))

    it.effect("a compressed flag without Connect-Content-Encoding is an error (internal, as connect-go and connect-es)", () =>
      Effect.gen(function*() {
        const body = envelope(1, zlib.gzipSync(echoBytes({ text: "z" })))
        expectStreamError(yield* send({ path: clientStreamPath, headers: streamProto, body }), "internal")
        expectStreamError(yield* send({ path: clientStreamPath, headers: { ...streamProto, "connect-content-encoding": "identity" }, body }), "internal")
        yield* healthy
      }))

    it.effect("an invalid message inside an envelope is invalid_argument", () =>
      Effect.gen(function*() {
        const body = [message("ok"), envelope(0, new Uint8Array([0xff, 0xff, 0xff]))]
        const parsed = expectStreamError(yield* send({ path: bidiPath, headers: streamProto, body }), "invalid_argument")
        expect(parsed.messages.map((m) => fromBinary(EchoResponseSchema, m).text)).toEqual(["ok"])
        const json = envelope(0, new TextEncoder().encode("{nope"))
        const res = yield* send({ path: clientStreamPath, headers: { ...streamProto, "content-type": "application/connect+json" }, body: json })
        expect(res.status).toBe(200)
        expect(parseStreamBody(res.body).end.error?.code).toBe("invalid_argument")
        yield* healthy
      }))

    it.effect("an end-stream flag from the client is invalid_argument", () =>
      Effect.gen(function*() {
        const body = [message("a"), envelope(2, new TextEncoder().encode("{}"))]
        expectStreamError(yield* send({ path: clientStreamPath, headers: streamProto, body }), "invalid_argument")
        yield* healthy
      }))

    it.effect("a compressed envelope that expands past readMaxBytes is resource_exhausted", () =>
      Effect.gen(function*() {
        const body = envelope(1, gzipBomb)
        expectStreamError(yield* send({ path: clientStreamPath, headers: { ...streamProto, "connect-content-encoding": "gzip" }, body }), "resource_exhausted")
        yield* healthy
      }))

    it.effect("an unknown Connect-Content-Encoding is unimplemented naming the accepted encodings", () =>
      Effect.gen(function*() {
        const res = yield* send({ path: clientStreamPath, headers: { ...streamProto, "connect-content-encoding": "snappy" }, body: message("a") })
        const parsed = expectStreamError(res, "unimplemented")
        expect(parsed.end.error.message).toContain("gzip")
        yield* healthy
      }))

    it.effect("a malformed Connect-Timeout-Ms or protocol version on a stream is invalid_argument", () =>
      Effect.gen(function*() {
        expectStreamError(yield* send({ path: bidiPath, headers: { ...streamProto, "connect-timeout-ms": "soon" }, body: message("a") }), "invalid_argument")
        expectStreamError(yield* send({ path: bidiPath, headers: { ...streamProto, "connect-protocol-version": "2" }, body: message("a") }), "invalid_argument")
        yield* healthy
      }))

    it.effect("a server-stream request with no message or two messages is an error, not a hang", () =>
      Effect.gen(function*() {
        const request = envelope(0, toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "s", count: 1 })))
        expectStreamError(yield* send({ path: serverStreamPath, headers: streamProto, body: new Uint8Array(0) }), "unimplemented")
        expectStreamError(yield* send({ path: serverStreamPath, headers: streamProto, body: [request, request] }), "unimplemented")
        yield* healthy
      }))
  })
})

// ---- slow and vanishing clients, on a TestService whose handlers report their fate ----

class Probe extends Context.Tag("test/Probe")<Probe, {
  readonly started: Queue.Queue<string>
  readonly interrupted: Queue.Queue<string>
}>() {}

const ProbeLive = Layer.effect(
  Probe,
  Effect.all({ started: Queue.unbounded<string>(), interrupted: Queue.unbounded<string>() })
)

/** Messages produced by the server-stream handler, by call id. */
const produced = new Map<string, number>()

const idOf = (ctx: ConnectService.HandlerContext) => ctx.requestHeaders["x-test-id"] ?? "?"

/** Runs `effect` as the handler of call `id`: reports its start, and its interruption. */
const probed = <A, E, R>(id: string, effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Probe, (probe) =>
    Queue.offer(probe.started, id).pipe(
      Effect.zipRight(effect),
      Effect.onInterrupt(() => Queue.offer(probe.interrupted, id))
    ))

const ProbedServiceLive = ConnectService.toLayer(TestService, {
  echo: (request, ctx) =>
    probed(idOf(ctx), Effect.as(request.delayMs > 0 ? Effect.sleep(request.delayMs) : Effect.void, { text: request.text })),
  serverStream: (request, ctx) =>
    Stream.unwrap(Effect.map(Probe, (probe) =>
      Stream.fromEffect(Queue.offer(probe.started, idOf(ctx))).pipe(
        Stream.drain,
        Stream.concat(
          Stream.repeatEffect(
            Effect.as(request.text === "flood" ? Effect.yieldNow() : Effect.sleep(5), { text: request.text, payload: new Uint8Array(request.size) })
          ).pipe(Stream.tap(() => Effect.sync(() => produced.set(idOf(ctx), (produced.get(idOf(ctx)) ?? 0) + 1))))
        ),
        (s) => Stream.ensuringWith(s, (exit) => exit._tag === "Failure" ? Queue.offer(probe.interrupted, idOf(ctx)) : Effect.void)
      ))),
  clientStream: (requests, ctx) =>
    probed(
      idOf(ctx),
      Effect.map(
        // "self-timeout" calls give up on their requests after 100 ms, with a Connect error of their own
        idOf(ctx).startsWith("self-timeout")
          ? Effect.timeoutFail(Stream.runCount(requests), { duration: "100 millis", onTimeout: () => ConnectError.make("aborted", "gave up waiting") })
          : Stream.runCount(requests),
        (n) => ({ text: `${n}` })
      )
    ),
  bidiStream: (requests, ctx) =>
    Stream.unwrap(Effect.map(Probe, (probe) =>
      Stream.fromEffect(Queue.offer(probe.started, idOf(ctx))).pipe(
        Stream.drain,
        // "first-only" calls answer the first request and stop reading the others.
        Stream.concat(Stream.map(idOf(ctx).startsWith("first-only") ? Stream.take(requests, 1) : requests, (r) => ({ text: r.text }))),
        (s) => Stream.ensuringWith(s, (exit) => exit._tag === "Failure" ? Queue.offer(probe.interrupted, idOf(ctx)) : Effect.void)
      )))
})

const ProbedServer = ConnectServer.layer({ services: [TestService], readMaxBytes }).pipe(
  Layer.provide(ProbedServiceLive),
  Layer.provideMerge(ProbeLive)
)

/** Waits until `id` shows up on `queue` (other ids are dropped), failing after `within`. */
const waitFor = (queue: Queue.Queue<string>, id: string, within: Duration.DurationInput = "3 seconds") =>
  Queue.take(queue).pipe(
    Effect.repeat({ until: (taken) => taken === id }),
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`${id} not seen within ${Duration.format(within)}`) }),
    Effect.orDie
  )

/**
 * Opens a request, writes `written` of its body, and returns the request (to destroy) once
 * the server has the headers; the response, if any, is ignored.
 */
const openRequest = (path: string, headers: Record<string, string>, written: ReadonlyArray<Uint8Array>) =>
  Effect.flatMap(ConnectServer.ConnectServer, ({ url }) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const req = Http.request(`${url}${path}`, { method: "POST", headers, agent: false })
        req.on("error", () => {})
        req.on("response", (res) => res.resume())
        for (const chunk of written) req.write(chunk)
        req.flushHeaders()
        return req
      }),
      (req) => Effect.sync(() => req.destroy())
    ))

describe("server: slow and vanished clients", () => {
  layer(ProbedServer, { timeout: "30 seconds", excludeTestServices: true })((it) => {
    const probedHealthy = Effect.gen(function*() {
      const res = yield* send({ path: echoPath, headers: { ...proto, "x-test-id": "healthy" }, body: echoBytes({ text: "still here" }) })
      expect(res.status).toBe(200)
      expect(fromBinary(EchoResponseSchema, res.body).text).toBe("still here")
    })

    it.scoped("a unary body that stalls halfway does not block other calls, nor does its client vanishing", () =>
      Effect.gen(function*() {
        const body = echoBytes({ text: "half", payload: new Uint8Array(1000) })
        const req = yield* openRequest(echoPath, { ...proto, "content-length": String(body.byteLength), "x-test-id": "stalled-unary" }, [body.subarray(0, 500)])
        yield* Effect.sleep("100 millis")
        yield* probedHealthy // served while the other one stalls
        req.destroy()
        yield* Effect.sleep("50 millis")
        yield* probedHealthy
      }))

    it.scoped("a client stream that stalls mid-envelope: its handler is interrupted when the client vanishes", () =>
      Effect.gen(function*() {
        const { interrupted, started } = yield* Probe
        const full = envelope(0, echoBytes({ text: "first" }))
        const partial = envelope(0, echoBytes({ text: "second", payload: new Uint8Array(100) })).subarray(0, 20)
        const req = yield* openRequest(clientStreamPath, { ...streamProto, "x-test-id": "stalled-stream" }, [full, partial])
        yield* waitFor(started, "stalled-stream")
        yield* probedHealthy
        req.destroy()
        yield* waitFor(interrupted, "stalled-stream")
        yield* probedHealthy
      }))

    it.scoped("a unary handler still working when the client disconnects is interrupted", () =>
      Effect.gen(function*() {
        const { interrupted, started } = yield* Probe
        const req = yield* openRequest(echoPath, { ...proto, "x-test-id": "slow-handler" }, [])
        req.end(echoBytes({ text: "slow", delayMs: 60_000 }))
        yield* waitFor(started, "slow-handler")
        req.destroy()
        yield* waitFor(interrupted, "slow-handler")
        yield* probedHealthy
      }))

    it.scoped("an endless server stream stops when the client disconnects", () =>
      Effect.gen(function*() {
        const { interrupted, started } = yield* Probe
        const request = envelope(0, toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "forever", size: 1000 })))
        const req = yield* openRequest(serverStreamPath, { ...streamProto, "x-test-id": "endless" }, [])
        req.end(request)
        yield* waitFor(started, "endless")
        yield* Effect.sleep("100 millis")
        req.destroy()
        yield* waitFor(interrupted, "endless")
        yield* probedHealthy
      }))

    it.scoped("a client that does not read a flood of messages holds the handler back (backpressure), and frees it by leaving", () =>
      Effect.gen(function*() {
        const { interrupted, started } = yield* Probe
        const request = envelope(0, toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "flood", size: 64 * 1024 })))
        const req = yield* openRequest(serverStreamPath, { ...streamProto, "x-test-id": "flood" }, [])
        req.removeAllListeners("response")
        req.on("response", (res) => res.pause()) // and never read
        req.end(request)
        yield* waitFor(started, "flood")
        yield* Effect.sleep("500 millis")
        const early = produced.get("flood") ?? 0
        yield* Effect.sleep("300 millis")
        const later = produced.get("flood") ?? 0
        // Socket buffers hold some megabytes at most: without backpressure this would be thousands, and growing.
        expect(later * 64 * 1024).toBeLessThan(64 * 1024 * 1024)
        expect(later - early).toBeLessThan(50)
        yield* probedHealthy
        req.destroy()
        yield* waitFor(interrupted, "flood")
      }))

    it.scoped("a bidi stream whose client stops sending (but stays) does not block others, and ends when it leaves", () =>
      Effect.gen(function*() {
        const { interrupted, started } = yield* Probe
        const req = yield* openRequest(bidiPath, { ...streamProto, "x-test-id": "idle-bidi" }, [envelope(0, echoBytes({ text: "one" }))])
        yield* waitFor(started, "idle-bidi")
        yield* probedHealthy
        req.destroy()
        yield* waitFor(interrupted, "idle-bidi")
        yield* probedHealthy
      }))

    it.effect("a handler that stops reading requests early finishes its response while the client keeps the request open", () =>
      Effect.gen(function*() {
        const res = yield* send({
          path: bidiPath,
          headers: { ...streamProto, "x-test-id": "first-only" },
          body: [envelope(0, echoBytes({ text: "first" }))],
          leaveOpen: true
        }, "3 seconds")
        expect(res.status).toBe(200)
        const parsed = parseStreamBody(res.body)
        expect(parsed.end.error).toBeUndefined()
        expect(parsed.messages.map((m) => fromBinary(EchoResponseSchema, m).text)).toEqual(["first"])
        yield* probedHealthy
      }))

    it.effect("a handler's own timeout on reading a stalled client's requests fires (no pending read blocks it)", () =>
      Effect.gen(function*() {
        const start = Date.now()
        const res = yield* send({
          path: clientStreamPath,
          headers: { ...streamProto, "x-test-id": "self-timeout" },
          body: [envelope(0, echoBytes({ text: "one" }))],
          leaveOpen: true
        }, "3 seconds")
        expectStreamError(res, "aborted")
        expect(Date.now() - start).toBeLessThan(1500)
        yield* probedHealthy
      }))

    it.scoped("many clients vanishing at once leave the server serving", () =>
      Effect.gen(function*() {
        const reqs = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
          openRequest(clientStreamPath, { ...streamProto, "x-test-id": `crowd-${i}` }, [envelope(0, new Uint8Array(0), 1000).subarray(0, 7)]))
        yield* Effect.sleep("100 millis")
        for (const req of reqs) req.destroy()
        yield* Effect.sleep("100 millis")
        yield* probedHealthy
      }))
  })
})

describe("server: GET on a method with side effects", () => {
  const SideEffectLive = ConnectService.toLayer(SideEffectService, {
    echo: () => Effect.succeed({}),
    serverStream: () => Stream.empty,
    clientStream: () => Effect.succeed({}),
    bidiStream: () => Stream.empty
  } as never)
  const Server = ConnectServer.layer({ services: [SideEffectService] }).pipe(Layer.provide(SideEffectLive))

  layer(Server, { timeout: "30 seconds", excludeTestServices: true })((it) => {
    it.effect("is 405 with Allow: POST; POST works", () =>
      Effect.gen(function*() {
        const path = `/${SideEffectService.typeName}/Echo`
        const res = yield* send({ method: "GET", path: `${path}?encoding=proto&message=` })
        expect([res.status, res.headers["allow"]]).toEqual([405, "POST"])
        const ok = yield* send({ path, headers: proto, body: new Uint8Array(0) })
        expect(ok.status).toBe(200)
      }))
  })
})

describe("server: small limits", () => {
  layer(ourServer({ readMaxBytes: 1024, writeMaxBytes: 1024 }), { timeout: "30 seconds", excludeTestServices: true })((it) => {
    const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url")

    it.effect("GET: a message parameter above readMaxBytes is resource_exhausted", () =>
      Effect.gen(function*() {
        // An unknown field (15, bytes) makes the request big and leaves the response small.
        const unknownField = (size: number) => new Uint8Array([0x7a, 0x80 | (size & 0x7f), size >> 7, ...new Uint8Array(size)])
        const small = base64url(unknownField(900))
        const ok = yield* send({ method: "GET", path: `${echoPath}?connect=v1&encoding=proto&base64=1&message=${small}` })
        expect(ok.status).toBe(200)
        const message = base64url(unknownField(3000))
        const res = yield* send({ method: "GET", path: `${echoPath}?connect=v1&encoding=proto&base64=1&message=${message}` })
        expectUnaryError(res, 429, "resource_exhausted")
        yield* healthy
      }))

    it.effect("GET: a compressed message that expands past readMaxBytes is resource_exhausted", () =>
      Effect.gen(function*() {
        const bomb = zlib.gzipSync(echoBytes({ payload: new Uint8Array(4 * 1024 * 1024) }))
        const res = yield* send({ method: "GET", path: `${echoPath}?connect=v1&encoding=proto&base64=1&compression=gzip&message=${base64url(bomb)}` })
        expectUnaryError(res, 429, "resource_exhausted")
        yield* healthy
      }))

    it.effect("a unary response above writeMaxBytes is resource_exhausted", () =>
      Effect.gen(function*() {
        // Echo lists the request's x-test* headers in its response: a small request, a large response.
        const res = yield* send({ path: echoPath, headers: { ...proto, "x-test-pad": "p".repeat(900) }, body: echoBytes({ text: "a" }) })
        expect(res.status).toBe(200) // within the limit
        const json = expectUnaryError(
          yield* send({ path: echoPath, headers: { ...proto, "x-test-pad": "p".repeat(1100) }, body: echoBytes({ text: "a" }) }),
          429,
          "resource_exhausted"
        )
        expect(json.message).toContain("writeMaxBytes")
        yield* healthy
      }))

    it.effect("a streamed response message above writeMaxBytes ends the stream with resource_exhausted", () =>
      Effect.gen(function*() {
        const request = toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "s", count: 3, size: 2000 }))
        const parsed = expectStreamError(yield* send({ path: serverStreamPath, headers: streamProto, body: envelope(0, request) }), "resource_exhausted")
        expect(parsed.messages).toEqual([])
        yield* healthy
      }))

    it.effect("a streamed request message at readMaxBytes is accepted, one byte more is resource_exhausted", () =>
      Effect.gen(function*() {
        const ok = yield* send({ path: clientStreamPath, headers: streamProto, body: envelope(0, new Uint8Array(1024).fill(0)) })
        // 1024 zero bytes are not a valid EchoRequest (field 0), but the size check comes first and passes
        expect(parseStreamBody(ok.body).end.error?.code).not.toBe("resource_exhausted")
        expectStreamError(yield* send({ path: clientStreamPath, headers: streamProto, body: envelope(0, new Uint8Array(1025)) }), "resource_exhausted")
        yield* healthy
      }))
  })
})

describe("server: one connection after another's hostile request", () => {
  layer(ourServer({ readMaxBytes }), { timeout: "30 seconds", excludeTestServices: true })((it) => {
    /** Writes `requests` back to back on one socket; resolves with all the bytes received once `expected` responses arrived. */
    const pipelined = (requests: ReadonlyArray<Uint8Array>, expected: number) =>
      Effect.flatMap(ConnectServer.ConnectServer, ({ port }) =>
        Effect.async<string, Error>((resume) => {
          const socket = Net.connect(port, "127.0.0.1")
          let received = ""
          socket.on("data", (d) => {
            received += d.toString("latin1")
            if ((received.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= expected && /still here[^]*$/.test(received)) {
              socket.destroy()
              resume(Effect.succeed(received))
            }
          })
          socket.on("error", (e) => resume(Effect.fail(e)))
          socket.on("close", () => resume(Effect.succeed(received)))
          socket.write(Buffer.concat(requests))
          return Effect.sync(() => socket.destroy())
        }).pipe(
          Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("no answer to the pipelined requests") }),
          Effect.orDie
        ))

    const http1 = (path: string, headers: Record<string, string>, body: Uint8Array) =>
      Buffer.concat([
        Buffer.from(
          `POST ${path} HTTP/1.1\r\nhost: x\r\n${Object.entries({ ...headers, "content-length": String(body.byteLength) }).map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`,
          "latin1"
        ),
        body
      ])
    const valid = http1(echoPath, proto, echoBytes({ text: "still here" }))
    const statuses = (raw: string) => (raw.match(/HTTP\/1\.1 (\d{3})/g) ?? []).map((l) => Number(l.slice(9)))

    it.effect("an oversized body, then a valid call on the same connection: 429 then 200", () =>
      Effect.gen(function*() {
        const big = http1(echoPath, proto, echoBytes({ payload: new Uint8Array(readMaxBytes * 2) }))
        const raw = yield* pipelined([big, valid], 2)
        expect(statuses(raw)).toEqual([429, 200])
      }))

    it.effect("invalid protobuf, then a valid call on the same connection: 400 then 200", () =>
      Effect.gen(function*() {
        const raw = yield* pipelined([http1(echoPath, proto, new Uint8Array([0xff, 0xff])), valid], 2)
        expect(statuses(raw)).toEqual([400, 200])
      }))

    it.effect("a broken stream, then a valid call on the same connection", () =>
      Effect.gen(function*() {
        const broken = http1(clientStreamPath, streamProto, envelope(0, new Uint8Array(3), 10))
        const raw = yield* pipelined([broken, valid], 2)
        expect(statuses(raw)).toEqual([200, 200])
        expect(raw).toContain("invalid_argument")
      }))

    it.effect("a timeout beyond setTimeout's range (10 digits, about 115 days) does not fire at once", () =>
      Effect.gen(function*() {
        for (const timeout of ["9999999999", "2147483648", "2147483647"]) {
          const res = yield* send({ path: echoPath, headers: { ...proto, "connect-timeout-ms": timeout }, body: echoBytes({ text: "t", delayMs: 20 }) })
          expect([timeout, res.status]).toEqual([timeout, 200])
        }
      }))
  })
})

// ---- the same hostility against the @effect/platform HttpApp path (toHttpApp on NodeHttpServer) ----

const PlatformProbedServer = Layer.unwrapEffect(Effect.gen(function*() {
  const app = yield* ConnectServer.toHttpApp({ services: [TestService], readMaxBytes })
  return HttpServer.serve(HttpRouter.empty.pipe(HttpRouter.all(`/${TestService.typeName}/*`, app)))
})).pipe(
  Layer.provide(ProbedServiceLive),
  Layer.provideMerge(ProbeLive),
  Layer.provideMerge(NodeHttpServer.layer(Http.createServer, { port: 0, host: "127.0.0.1" }))
)

/** The platform server's address as a ConnectServer, so that the helpers above work unchanged. */
const PlatformAsConnectServer = Layer.effect(
  ConnectServer.ConnectServer,
  HttpServer.addressWith((address) => {
    const port = address._tag === "TcpAddress" ? address.port : 0
    const activity = Effect.dieMessage("the platform server does not count its connections")
    return Effect.succeed({ url: `http://127.0.0.1:${port}`, host: "127.0.0.1", port, activity })
  })
).pipe(Layer.provideMerge(PlatformProbedServer))

describe("platform HttpApp: hostile input and vanishing clients", () => {
  layer(PlatformAsConnectServer, { timeout: "30 seconds", excludeTestServices: true })((it) => {
    const probedHealthy = Effect.gen(function*() {
      const res = yield* send({ path: echoPath, headers: { ...proto, "x-test-id": "healthy" }, body: echoBytes({ text: "still here" }) })
      expect(res.status).toBe(200)
      expect(fromBinary(EchoResponseSchema, res.body).text).toBe("still here")
    })

    it.effect("oversized unary bodies (declared, chunked, or gzip bombs) are 429 resource_exhausted", () =>
      Effect.gen(function*() {
        const big = echoBytes({ payload: new Uint8Array(readMaxBytes + 1) })
        expectUnaryError(yield* send({ path: echoPath, headers: proto, body: big }), 429, "resource_exhausted")
        const chunks = Array.from({ length: 40 }, (_, i) => big.subarray(i * 2048, (i + 1) * 2048)).filter((c) => c.byteLength > 0)
        expectUnaryError(yield* send({ path: echoPath, headers: proto, body: chunks }), 429, "resource_exhausted")
        expectUnaryError(yield* send({ path: echoPath, headers: { ...proto, "content-encoding": "gzip" }, body: gzipBomb }), 429, "resource_exhausted")
        yield* probedHealthy
      }))

    it.effect("invalid protobuf and invalid JSON are 400 invalid_argument", () =>
      Effect.gen(function*() {
        expectUnaryError(yield* send({ path: echoPath, headers: proto, body: new Uint8Array([0xff, 0xff]) }), 400, "invalid_argument")
        expectUnaryError(yield* send({ path: echoPath, headers: { "content-type": "application/json" }, body: "{nope" }), 400, "invalid_argument")
        yield* probedHealthy
      }))

    it.effect("a truncated envelope and a 4 GiB length prefix end the stream with the right code, at once", () =>
      Effect.gen(function*() {
        expectStreamError(yield* send({ path: clientStreamPath, headers: streamProto, body: envelope(0, new Uint8Array(3), 10) }), "invalid_argument")
        expectStreamError(
          yield* send({ path: clientStreamPath, headers: streamProto, body: envelope(0, new Uint8Array(0), 0xffffffff), leaveOpen: true }, "2 seconds"),
          "resource_exhausted"
        )
        yield* probedHealthy
      }))

    it.scoped("a client stream that stalls mid-envelope: its handler is interrupted when the client vanishes", () =>
      Effect.gen(function*() {
        const { interrupted, started } = yield* Probe
        const partial = envelope(0, echoBytes({ text: "second", payload: new Uint8Array(100) })).subarray(0, 20)
        const req = yield* openRequest(clientStreamPath, { ...streamProto, "x-test-id": "p-stalled" }, [envelope(0, echoBytes({ text: "first" })), partial])
        yield* waitFor(started, "p-stalled")
        yield* probedHealthy
        req.destroy()
        yield* waitFor(interrupted, "p-stalled")
        yield* probedHealthy
      }))

    it.scoped("a unary handler still working when the client disconnects is interrupted", () =>
      Effect.gen(function*() {
        const { interrupted, started } = yield* Probe
        const req = yield* openRequest(echoPath, { ...proto, "x-test-id": "p-slow" }, [])
        req.end(echoBytes({ text: "slow", delayMs: 60_000 }))
        yield* waitFor(started, "p-slow")
        req.destroy()
        yield* waitFor(interrupted, "p-slow")
        yield* probedHealthy
      }))

    it.scoped("an endless server stream stops when the client disconnects", () =>
      Effect.gen(function*() {
        const { interrupted, started } = yield* Probe
        const request = envelope(0, toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "forever", size: 1000 })))
        const req = yield* openRequest(serverStreamPath, { ...streamProto, "x-test-id": "p-endless" }, [])
        req.end(request)
        yield* waitFor(started, "p-endless")
        yield* Effect.sleep("100 millis")
        req.destroy()
        yield* Effect.sleep("100 millis")
        const after = produced.get("p-endless") ?? 0
        yield* Effect.sleep("300 millis")
        expect(produced.get("p-endless")).toBe(after) // the handler stopped producing
        yield* waitFor(interrupted, "p-endless", "1 second") // and saw its interruption
        yield* probedHealthy
      }))

    it.effect("timeout: a client stream stalled past Connect-Timeout-Ms gets deadline_exceeded, not a hang", () =>
      Effect.gen(function*() {
        const stream = yield* send({
          path: clientStreamPath,
          headers: { ...streamProto, "connect-timeout-ms": "100", "x-test-id": "p-stall-timeout" },
          body: [envelope(0, echoBytes({ text: "one" }))],
          leaveOpen: true
        }, "3 seconds")
        expectStreamError(stream, "deadline_exceeded")
        yield* probedHealthy
      }))

    it.effect("timeout: Connect-Timeout-Ms 50 with a slow handler is deadline_exceeded fast", () =>
      Effect.gen(function*() {
        const start = Date.now()
        const res = yield* send({ path: echoPath, headers: { ...proto, "connect-timeout-ms": "50", "x-test-id": "p-timeout" }, body: echoBytes({ delayMs: 2000 }) })
        expectUnaryError(res, 504, "deadline_exceeded")
        expect(Date.now() - start).toBeLessThan(1000)
        yield* probedHealthy
      }))
  })
})


describe("server: fuzzed requests", () => {
  layer(ourServer({ readMaxBytes }), { timeout: "60 seconds", excludeTestServices: true })((it) => {
    const pathArb = fc.constantFrom(echoPath, serverStreamPath, clientStreamPath, bidiPath)
    const contentTypeArb = fc.constantFrom(
      "application/proto",
      "application/json",
      "application/connect+proto",
      "application/connect+json",
      "text/plain",
      "application/json; charset=utf-8"
    )
    const optionalHeader = (arb: fc.Arbitrary<string>) => fc.option(arb, { nil: undefined })
    const headersArb = fc.record({
      "content-type": contentTypeArb,
      "connect-timeout-ms": optionalHeader(fc.oneof(fc.stringMatching(/^[0-9]{1,11}$/), fc.constantFrom("x", "-1", ""))),
      "content-encoding": optionalHeader(fc.constantFrom("gzip", "br", "identity", "zstd")),
      "connect-content-encoding": optionalHeader(fc.constantFrom("gzip", "br", "identity", "zstd")),
      "connect-protocol-version": optionalHeader(fc.constantFrom("1", "2"))
    })
    // Bodies: random bytes, random envelopes, and envelopes around valid messages with random flags.
    const bodyArb = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.array(
        fc.record({ flags: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ maxLength: 50 }), lie: fc.option(fc.nat(), { nil: undefined }) }),
        { maxLength: 4 }
      ).map((es) => Buffer.concat(es.map((e) => envelope(e.flags, e.data, e.lie ?? e.data.byteLength)))),
      fc.array(fc.record({ flags: fc.integer({ min: 0, max: 3 }), text: fc.string({ maxLength: 10 }) }), { maxLength: 3 })
        .map((ms) => Buffer.concat(ms.map((m) => envelope(m.flags, echoBytes({ text: m.text })))))
    )

    it.effect("whatever the headers and bytes: a Connect answer, promptly, and the server keeps serving", () =>
      Effect.gen(function*() {
        const { url } = yield* ConnectServer.ConnectServer
        const headers = (h: Record<string, string | undefined>) => {
          const out: Record<string, string> = {}
          for (const [n, v] of Object.entries(h)) if (v !== undefined) out[n] = v
          return out
        }
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(pathArb, headersArb, bodyArb, async (path, h, body) => {
              const res = await Effect.runPromise(
                rawRequest(url, { path, headers: headers(h), body }).pipe(
                  Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => new Error("no answer within 3 s") })
                )
              )
              if (res.status === 415) return
              if (res.status === 200 && (res.headers["content-type"] ?? "").startsWith("application/connect+")) {
                const end = parseStreamBody(res.body).end
                expect(end.error === undefined || Code.isCode(end.error.code)).toBe(true)
                return
              }
              if (res.status === 200) return
              expect(res.headers["content-type"]).toBe("application/json")
              const json = jsonOf(res.body)
              expect(Code.isCode(json.code)).toBe(true)
              expect(res.status).toBe(Code.toHttpStatus(json.code))
            }),
            { numRuns: 150 }
          )
        )
        yield* healthy
      }))
  })
})
