/**
 * Our client against raw node:http servers that misbehave: every failure is a ConnectError
 * with a sensible code, timeouts fire, and interrupting a call (or stopping a stream early)
 * aborts the HTTP request.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { describe, expect, it } from "@effect/vitest"
import { Code, ConnectClient, ConnectError } from "connect-effect"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import fc from "fast-check"
import type * as Http from "node:http"
import { Buffer } from "node:buffer"
import * as zlib from "node:zlib"
import { EchoResponseSchema, TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { envelope } from "./support/rawHttp.js"
import { nodeServer } from "./support/servers.js"
import { type ClientTransport, clientTransports, type TransportOptions } from "./support/transports.js"

const enc = new TextEncoder()

type Options = Omit<TransportOptions, "baseUrl">

/** A raw server with `listener`, and our client of TestService on it over `transport`; both closed with the Scope. */
const clientOver = (transport: ClientTransport) => (listener: Http.RequestListener, options: Options = {}) =>
  Effect.gen(function*() {
    const { url } = yield* nodeServer(listener)
    const context = yield* Layer.build(transport.layer({ baseUrl: url, ...options }))
    return yield* Effect.provide(ConnectClient.make(TestService), context)
  })

/** Reads the request body, then answers with `status`, `headers` and `body`. */
const answer = (status: number, headers: Record<string, string>, body?: Uint8Array | string): Http.RequestListener => (req, res) => {
  req.resume()
  req.on("end", () => {
    res.writeHead(status, headers)
    res.end(body)
  })
}

const echoResponse = (text: string) => toBinary(EchoResponseSchema, create(EchoResponseSchema, { text }))
const endStream = (json: unknown) => envelope(2, enc.encode(JSON.stringify(json)))
const streamHeaders = { "content-type": "application/connect+proto" }

/** The call's failure, which must be a ConnectError, within `within`. */
const failureOf = <A, E>(effect: Effect.Effect<A, E>, within: Duration.DurationInput = "5 seconds") =>
  effect.pipe(
    Effect.flip,
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`no failure within ${Duration.format(within)}`) }),
    Effect.orDie,
    Effect.tap((e) => expect(ConnectError.isConnectError(e), `not a ConnectError: ${String(e)}`).toBe(true)),
    Effect.map((e) => e as unknown as ConnectError.ConnectError)
  )

const expectCode = (error: ConnectError.ConnectError, code: Code.Code) =>
  expect(error.code, `ConnectError [${error.code}] ${error.message}`).toBe(code)

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toArray)

/** Resolves when the raw server sees the client go away before the response was finished. */
const watchAbort = (res: Http.ServerResponse, aborted: Deferred.Deferred<void>) =>
  res.on("close", () => {
    if (!res.writableEnded) Deferred.unsafeDone(aborted, Exit.void)
  })

const awaitWithin = <A>(deferred: Deferred.Deferred<A>, what: string, within: Duration.DurationInput = "3 seconds") =>
  Deferred.await(deferred).pipe(
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`${what} not seen within ${Duration.format(within)}`) }),
    Effect.orDie
  )

describe.each(clientTransports)("over $name", (transport) => {
  const clientOf = clientOver(transport)

  describe("client: misbehaving servers, unary", () => {
    it.scopedLive("200 with a content type that is not Connect's is unknown (as connect-es and connect-go)", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(answer(200, { "content-type": "text/html" }, "<html>hello</html>"))
        expectCode(yield* failureOf(client.echo({ text: "x" })), "unknown")
      }))

    it.scopedLive("200 text/html on a stream is unknown too (as connect-es)", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(answer(200, { "content-type": "text/html" }, "<html>hello</html>"))
        expectCode(yield* failureOf(collect(client.serverStream({ text: "x" }))), "unknown")
      }))

    it.scopedLive("200 with the other Connect codec's content type is internal (as connect-es and connect-go)", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(answer(200, { "content-type": "application/json" }, "{}"))
        expectCode(yield* failureOf(client.echo({ text: "x" })), "internal")
        const streaming = yield* clientOf(answer(200, { "content-type": "application/proto" }, echoResponse("x")))
        expectCode(yield* failureOf(collect(streaming.serverStream({ text: "x" }))), "internal")
      }))

    // connect-go says invalid_argument (its one unmarshal error for both sides), connect-es internal.
    it.scopedLive("200 application/proto whose body is not the response message is invalid_argument (as connect-go)", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(answer(200, { "content-type": "application/proto" }, new Uint8Array([0xff, 0xff, 0xff])))
        expectCode(yield* failureOf(client.echo({ text: "x" })), "invalid_argument")
      }))

    it.scopedLive("502, 503 and 504 with an HTML body are unavailable; 429 too", () =>
      Effect.gen(function*() {
        for (const status of [502, 503, 504, 429]) {
          const client = yield* clientOf(answer(status, { "content-type": "text/html" }, `<html><h1>${status}</h1></html>`))
          const error = yield* failureOf(client.echo({ text: "x" }))
          expect([status, error.code]).toEqual([status, "unavailable"])
          const stream = yield* failureOf(collect(client.serverStream({ text: "x" })))
          expect([status, stream.code]).toEqual([status, "unavailable"])
        }
      }))

    it.scopedLive("404 without a Connect body is unimplemented, other statuses per the spec's table", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [number, Code.Code]> = [
          [404, "unimplemented"],
          [400, "internal"],
          [401, "unauthenticated"],
          [403, "permission_denied"],
          [500, "unknown"],
          [418, "unknown"],
          [302, "unknown"]
        ]
        for (const [status, code] of cases) {
          const client = yield* clientOf(answer(status, { "content-type": "text/plain" }, "nope"))
          const error = yield* failureOf(client.echo({ text: "x" }))
          expect([status, error.code]).toEqual([status, code])
        }
      }))

    it.scopedLive("a JSON error body is read; an unknown code falls back to the HTTP status's code", () =>
      Effect.gen(function*() {
        const json = { "content-type": "application/json" }
        let client = yield* clientOf(answer(500, json, JSON.stringify({ code: "not_found", message: "gone" })))
        let error = yield* failureOf(client.echo({ text: "x" }))
        expect([error.code, error.message]).toEqual(["not_found", "gone"])

        client = yield* clientOf(answer(503, json, JSON.stringify({ code: "no_such_code", message: "strange" })))
        error = yield* failureOf(client.echo({ text: "x" }))
        expect([error.code, error.message]).toEqual(["unavailable", "strange"])

        client = yield* clientOf(answer(418, json, JSON.stringify({ code: "no_such_code" })))
        expect((yield* failureOf(client.echo({ text: "x" }))).code).toBe("unknown")

        client = yield* clientOf(answer(503, json, "{ this is not json"))
        expect((yield* failureOf(client.echo({ text: "x" }))).code).toBe("unavailable")

        client = yield* clientOf(answer(503, json, JSON.stringify(["unavailable"])))
        expect((yield* failureOf(client.echo({ text: "x" }))).code).toBe("unavailable")
      }))

    it.scopedLive("an unsupported response Content-Encoding is internal", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(answer(200, { "content-type": "application/proto", "content-encoding": "snappy" }, echoResponse("x")))
        expectCode(yield* failureOf(client.echo({ text: "x" })), "internal")
      }))

    it.scopedLive("a response Content-Encoding is case-insensitive: GZIP is gzip", () =>
      Effect.gen(function*() {
        const body = zlib.gzipSync(echoResponse("shouted"))
        const client = yield* clientOf(answer(200, { "content-type": "application/proto", "content-encoding": "GZIP" }, body))
        expect((yield* client.echo({ text: "x" }).pipe(Effect.timeout("5 seconds"))).text).toBe("shouted")
      }))

    it.scopedLive("an empty gzip-encoded response body is the empty message (never decompressed)", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(answer(200, { "content-type": "application/proto", "content-encoding": "gzip" }, new Uint8Array(0)))
        const response = yield* client.echo({ text: "x" }).pipe(Effect.timeout("5 seconds"))
        expect(response.text).toBe("")
      }))

    it.scopedLive("a response above readMaxBytes is resource_exhausted, with or without Content-Length", () =>
      Effect.gen(function*() {
        const big = echoResponse("x".repeat(5000))
        let client = yield* clientOf(answer(200, { "content-type": "application/proto" }, big), { readMaxBytes: 1024 })
        expectCode(yield* failureOf(client.echo({ text: "x" })), "resource_exhausted")
        client = yield* clientOf((req, res) => {
          req.resume()
          res.writeHead(200, { "content-type": "application/proto" }) // chunked, no Content-Length
          for (let i = 0; i < big.byteLength; i += 500) res.write(big.subarray(i, i + 500))
          res.end()
        }, { readMaxBytes: 1024 })
        expectCode(yield* failureOf(client.echo({ text: "x" })), "resource_exhausted")
      }))

    it.scopedLive("a gzip response that expands past readMaxBytes is resource_exhausted", () =>
      Effect.gen(function*() {
        const bomb = zlib.gzipSync(echoResponse("x".repeat(4 * 1024 * 1024)))
        expect(bomb.byteLength).toBeLessThan(64 * 1024)
        const client = yield* clientOf(answer(200, { "content-type": "application/proto", "content-encoding": "gzip" }, bomb), { readMaxBytes: 64 * 1024 })
        expectCode(yield* failureOf(client.echo({ text: "x" })), "resource_exhausted")
      }))

    it.scopedLive("a server that closes the connection without answering is unavailable", () =>
      Effect.gen(function*() {
        const client = yield* clientOf((req) => req.socket.destroy())
        expectCode(yield* failureOf(client.echo({ text: "x" })), "unavailable")
      }))

    it.scopedLive("a server that closes the connection in the middle of a unary body is unavailable", () =>
      Effect.gen(function*() {
        const client = yield* clientOf((req, res) => {
          req.resume()
          res.writeHead(200, { "content-type": "application/proto", "content-length": "100" })
          res.write(new Uint8Array([0x0a, 0x05]))
          setTimeout(() => res.socket?.destroy(), 20)
        })
        expectCode(yield* failureOf(client.echo({ text: "x" })), "unavailable")
      }))

    it.scopedLive("a server that never answers: a 100 ms timeout is deadline_exceeded, fast", () =>
      Effect.gen(function*() {
        const client = yield* clientOf((req) => req.resume())
        const start = Date.now()
        expectCode(yield* failureOf(client.echo({ text: "x" }, { timeout: "100 millis" })), "deadline_exceeded")
        expect(Date.now() - start).toBeLessThan(1000)
        const stream = yield* failureOf(collect(client.serverStream({ text: "x" }, { timeout: "100 millis" })))
        expectCode(stream, "deadline_exceeded")
        expect(Date.now() - start).toBeLessThan(2000)
      }))

    it.scopedLive("the timeout is sent as Connect-Timeout-Ms", () =>
      Effect.gen(function*() {
        const seen = yield* Deferred.make<string | undefined>()
        const client = yield* clientOf((req, res) => {
          Deferred.unsafeDone(seen, Exit.succeed(req.headers["connect-timeout-ms"] as string | undefined))
          req.resume()
          req.on("end", () => {
            res.writeHead(200, { "content-type": "application/proto" })
            res.end(echoResponse("ok"))
          })
        })
        expect((yield* client.echo({ text: "x" }, { timeout: "1500 millis" })).text).toBe("ok")
        const header = Number(yield* awaitWithin(seen, "the request"))
        expect(header).toBeGreaterThan(1000)
        expect(header).toBeLessThanOrEqual(1500)
      }))

    it.scopedLive("interrupting the calling fiber aborts the HTTP request", () =>
      Effect.gen(function*() {
        const received = yield* Deferred.make<void>()
        const aborted = yield* Deferred.make<void>()
        const client = yield* clientOf((req, res) => {
          req.resume()
          req.on("end", () => Deferred.unsafeDone(received, Exit.void))
          watchAbort(res, aborted)
        })
        const fiber = yield* Effect.fork(client.echo({ text: "x" }))
        yield* awaitWithin(received, "the request")
        yield* Fiber.interrupt(fiber).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("interrupt hung") }), Effect.orDie)
        yield* awaitWithin(aborted, "the abort")
      }))
  })

  describe("client: unary responses it gives up on are not left dangling", () => {
    /** Sends the head and some of the body of a response that never ends; reports the client leaving. */
    const endless = (status: number, headers: Record<string, string>, aborted: Deferred.Deferred<void>): Http.RequestListener => (req, res) => {
      req.resume()
      res.writeHead(status, headers)
      res.write(new Uint8Array(16 * 1024))
      watchAbort(res, aborted)
    }

    it.scopedLive("a body declared above readMaxBytes: resource_exhausted, and the request is closed", () =>
      Effect.gen(function*() {
        const aborted = yield* Deferred.make<void>()
        const client = yield* clientOf(
          endless(200, { "content-type": "application/proto", "content-length": String(10 * 1024 * 1024) }, aborted),
          { readMaxBytes: 1024 }
        )
        expectCode(yield* failureOf(client.echo({ text: "x" })), "resource_exhausted")
        yield* awaitWithin(aborted, "the client closing the refused response")
      }))

    it.scopedLive("a chunked body growing past readMaxBytes: resource_exhausted, and the request is closed", () =>
      Effect.gen(function*() {
        const aborted = yield* Deferred.make<void>()
        const client = yield* clientOf(endless(200, { "content-type": "application/proto" }, aborted), { readMaxBytes: 1024 })
        expectCode(yield* failureOf(client.echo({ text: "x" })), "resource_exhausted")
        yield* awaitWithin(aborted, "the client closing the refused response")
      }))

    it.scopedLive("a 503 with an HTML body that never ends: unavailable at once, and the request is closed", () =>
      Effect.gen(function*() {
        const aborted = yield* Deferred.make<void>()
        const client = yield* clientOf(endless(503, { "content-type": "text/html" }, aborted))
        expectCode(yield* failureOf(client.echo({ text: "x" }), "2 seconds"), "unavailable")
        yield* awaitWithin(aborted, "the client closing the error response")
      }))

    it.scopedLive("a 200 with a foreign content type and an endless body: fails at once, and the request is closed", () =>
      Effect.gen(function*() {
        const aborted = yield* Deferred.make<void>()
        const client = yield* clientOf(endless(200, { "content-type": "text/html" }, aborted))
        yield* failureOf(client.echo({ text: "x" }), "2 seconds")
        yield* awaitWithin(aborted, "the client closing the response")
      }))

    it.scopedLive("a body that stalls after the headers: the timeout is deadline_exceeded, and the request is closed", () =>
      Effect.gen(function*() {
        const aborted = yield* Deferred.make<void>()
        const client = yield* clientOf(endless(200, { "content-type": "application/proto", "content-length": "100000" }, aborted))
        const start = Date.now()
        expectCode(yield* failureOf(client.echo({ text: "x" }, { timeout: "150 millis" })), "deadline_exceeded")
        expect(Date.now() - start).toBeLessThan(1000)
        yield* awaitWithin(aborted, "the client closing the timed-out response")
      }))

    it.scopedLive("a server that never answers: after deadline_exceeded the request is closed", () =>
      Effect.gen(function*() {
        const aborted = yield* Deferred.make<void>()
        const client = yield* clientOf((req, res) => {
          req.resume()
          watchAbort(res, aborted)
        })
        expectCode(yield* failureOf(client.echo({ text: "x" }, { timeout: "100 millis" })), "deadline_exceeded")
        yield* awaitWithin(aborted, "the client closing the timed-out request")
      }))
  })

  describe("client: misbehaving servers, streams", () => {
    /** Answers a streaming call with `chunks`, written one by one, then ends (or not). */
    const streamServer = (chunks: ReadonlyArray<Uint8Array>, options: { end?: boolean; headers?: Record<string, string> } = {}): Http.RequestListener => (req, res) => {
      req.resume()
      res.writeHead(200, { ...streamHeaders, ...options.headers })
      for (const chunk of chunks) res.write(chunk)
      if (options.end ?? true) res.end()
    }
    const message = (text: string) => envelope(0, echoResponse(text))

    it.scopedLive("sanity: a well-formed stream is read with its trailers", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([message("a"), message("b"), endStream({ metadata: { "x-t": ["1"] } })]))
        const response = yield* client.serverStream.withResponse({ text: "x" })
        const texts = (yield* collect(response.messages)).map((r) => r.text)
        expect(texts).toEqual(["a", "b"])
        expect((yield* response.trailers)["x-t"]).toBe("1")
      }))

    it.scopedLive("a stream without an end-stream message fails (internal), after its messages", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([message("a")]))
        const seen: Array<string> = []
        const error = yield* failureOf(Stream.runForEach(client.serverStream({ text: "x" }), (r) => Effect.sync(() => seen.push(r.text))))
        expectCode(error, "internal")
        expect(seen).toEqual(["a"])
      }))

    it.scopedLive("an empty stream body fails (no end-stream message)", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([]))
        expectCode(yield* failureOf(collect(client.serverStream({ text: "x" }))), "internal")
      }))

    it.scopedLive("a truncated envelope is invalid_argument", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([message("a"), message("b").subarray(0, 4)]))
        expectCode(yield* failureOf(collect(client.serverStream({ text: "x" }))), "invalid_argument")
        const partialBody = yield* clientOf(streamServer([envelope(0, new Uint8Array(3), 50)]))
        expectCode(yield* failureOf(collect(partialBody.serverStream({ text: "x" }))), "invalid_argument")
      }))

    it.scopedLive("a 4 GiB length prefix is resource_exhausted at once, while the server stays silent", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([envelope(0, new Uint8Array(0), 0xffffffff)], { end: false }))
        const start = Date.now()
        expectCode(yield* failureOf(collect(client.serverStream({ text: "x" })), "2 seconds"), "resource_exhausted")
        expect(Date.now() - start).toBeLessThan(1000)
      }))

    it.scopedLive("a length prefix above the client's readMaxBytes is resource_exhausted", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([message("x".repeat(2000)), endStream({})]), { readMaxBytes: 1024 })
        expectCode(yield* failureOf(collect(client.serverStream({ text: "x" }))), "resource_exhausted")
      }))

    it.scopedLive("an invalid end-stream message is unknown", () =>
      Effect.gen(function*() {
        for (
          const end of [
            envelope(2, enc.encode("{not json")),
            envelope(2, enc.encode("[]")),
            endStream({ metadata: { a: "not a list" } }),
            endStream({ error: "unavailable" })
          ]
        ) {
          const client = yield* clientOf(streamServer([message("a"), end]))
          expectCode(yield* failureOf(collect(client.serverStream({ text: "x" }))), "unknown")
        }
      }))

    it.scopedLive("an end-stream error is the call's error, with its details and the trailers as metadata", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([
          message("a"),
          endStream({ error: { code: "resource_exhausted", message: "quota", details: [{ type: "x.Y", value: "AAEC" }] }, metadata: { "x-t": ["1"] } })
        ]))
        const error = yield* failureOf(collect(client.serverStream({ text: "x" })))
        expect([error.code, error.message, error.details.map((d) => Array.from(d.value)), error.metadata["x-t"]]).toEqual([
          "resource_exhausted",
          "quota",
          [[0, 1, 2]],
          "1"
        ])
      }))

    it.scopedLive("data after the end-stream message fails (internal)", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([message("a"), endStream({}), message("late")]))
        expectCode(yield* failureOf(collect(client.serverStream({ text: "x" }))), "internal")
        const twice = yield* clientOf(streamServer([endStream({}), endStream({})]))
        expectCode(yield* failureOf(collect(twice.serverStream({ text: "x" }))), "internal")
      }))

    it.scopedLive("an invalid message in an envelope fails (invalid_argument, as connect-go)", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([envelope(0, new Uint8Array([0xff, 0xff])), endStream({})]))
        expectCode(yield* failureOf(collect(client.serverStream({ text: "x" }))), "invalid_argument")
      }))

    it.scopedLive("a compressed flag without Connect-Content-Encoding is internal", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([envelope(1, zlib.gzipSync(echoResponse("a"))), endStream({})]))
        expectCode(yield* failureOf(collect(client.serverStream({ text: "x" }))), "internal")
      }))

    it.scopedLive("a compressed message that expands past readMaxBytes is resource_exhausted", () =>
      Effect.gen(function*() {
        const bomb = zlib.gzipSync(echoResponse("x".repeat(1024 * 1024)))
        const client = yield* clientOf(
          streamServer([envelope(1, bomb), endStream({})], { headers: { "connect-content-encoding": "gzip" } }),
          { readMaxBytes: 64 * 1024 }
        )
        expectCode(yield* failureOf(collect(client.serverStream({ text: "x" }))), "resource_exhausted")
      }))

    it.scopedLive("the server closing the connection mid-stream is unavailable", () =>
      Effect.gen(function*() {
        const client = yield* clientOf((req, res) => {
          req.resume()
          res.writeHead(200, streamHeaders)
          res.write(message("a"))
          res.write(message("b").subarray(0, 3))
          setTimeout(() => res.socket?.destroy(), 20)
        })
        const seen: Array<string> = []
        const error = yield* failureOf(Stream.runForEach(client.serverStream({ text: "x" }), (r) => Effect.sync(() => seen.push(r.text))))
        expectCode(error, "unavailable")
        expect(seen).toEqual(["a"])
      }))

    it.scopedLive("a stream that stalls after its first message: the timeout is deadline_exceeded, fast", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(streamServer([message("a")], { end: false }))
        const start = Date.now()
        const error = yield* failureOf(collect(client.serverStream({ text: "x" }, { timeout: "200 millis" })))
        expectCode(error, "deadline_exceeded")
        expect(Date.now() - start).toBeLessThan(1500)
      }))

    it.scopedLive("stopping early with Stream.take closes the HTTP request", () =>
      Effect.gen(function*() {
        const aborted = yield* Deferred.make<void>()
        const client = yield* clientOf((req, res) => {
          req.resume()
          res.writeHead(200, streamHeaders)
          watchAbort(res, aborted)
          let i = 0
          const timer = setInterval(() => res.write(message(`m${i++}`)), 5)
          res.on("close", () => clearInterval(timer))
        })
        const taken = yield* collect(Stream.take(client.serverStream({ text: "x" }), 2)).pipe(Effect.timeout("3 seconds"))
        expect(taken.map((r) => r.text)).toEqual(["m0", "m1"])
        yield* awaitWithin(aborted, "the abort after Stream.take")
      }))

    it.scopedLive("interrupting a fiber consuming a stream closes the HTTP request", () =>
      Effect.gen(function*() {
        const aborted = yield* Deferred.make<void>()
        const first = yield* Deferred.make<void>()
        const client = yield* clientOf((req, res) => {
          req.resume()
          res.writeHead(200, streamHeaders)
          watchAbort(res, aborted)
          res.write(message("only"))
        })
        const fiber = yield* Effect.fork(Stream.runForEach(client.serverStream({ text: "x" }), () => Deferred.succeed(first, undefined)))
        yield* awaitWithin(first, "the first message")
        yield* Fiber.interrupt(fiber).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("interrupt hung") }), Effect.orDie)
        yield* awaitWithin(aborted, "the abort")
      }))

    it.scopedLive("a bidi call whose server never answers: interrupting it closes the request", () =>
      Effect.gen(function*() {
        const received = yield* Deferred.make<void>()
        const aborted = yield* Deferred.make<void>()
        const client = yield* clientOf((req, res) => {
          req.once("data", () => Deferred.unsafeDone(received, Exit.void))
          watchAbort(res, aborted) // and never answers
        })
        const fiber = yield* Effect.fork(collect(client.bidiStream(Stream.concat(Stream.make({ text: "a" }), Stream.never))))
        yield* awaitWithin(received, "the first request message")
        yield* Fiber.interrupt(fiber).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("interrupt hung") }), Effect.orDie)
        yield* awaitWithin(aborted, "the abort")
      }))
  })

  describe("client: its own limits", () => {
    /** A server that counts the requests that reach it and answers none of them. */
    const counting = () => {
      let count = 0
      const listener: Http.RequestListener = (req, res) => {
        count++
        req.resume()
        req.on("end", () => {
          res.writeHead(503)
          res.end()
        })
      }
      return { listener, count: () => count }
    }

    it.scopedLive("a unary request above writeMaxBytes is resource_exhausted and is not sent", () =>
      Effect.gen(function*() {
        const server = counting()
        const client = yield* clientOf(server.listener, { writeMaxBytes: 100 })
        expectCode(yield* failureOf(client.echo({ payload: new Uint8Array(200) })), "resource_exhausted")
        expect(server.count()).toBe(0)
      }))

    it.scopedLive("a streamed request message above writeMaxBytes fails the call with resource_exhausted", () =>
      Effect.gen(function*() {
        // The server reads and never answers: the failure can only come from the client.
        const client = yield* clientOf((req) => req.resume(), { writeMaxBytes: 100 })
        const error = yield* failureOf(client.clientStream([{ text: "ok" }, { payload: new Uint8Array(200) }]))
        expectCode(error, "resource_exhausted")
        const bidi = yield* failureOf(collect(client.bidiStream([{ text: "ok" }, { payload: new Uint8Array(200) }])))
        expectCode(bidi, "resource_exhausted")
      }))

    it.scopedLive("an unsupported Connect-Content-Encoding on a stream is internal", () =>
      Effect.gen(function*() {
        const client = yield* clientOf((req, res) => {
          req.resume()
          res.writeHead(200, { ...streamHeaders, "connect-content-encoding": "snappy" })
          res.end(endStream({}))
        })
        expectCode(yield* failureOf(collect(client.serverStream({ text: "x" }))), "internal")
      }))

    it.scopedLive("a client-streaming call whose server answers with two messages is unimplemented", () =>
      Effect.gen(function*() {
        const client = yield* clientOf((req, res) => {
          req.resume()
          req.on("end", () => {
            res.writeHead(200, streamHeaders)
            res.end(Buffer.concat([envelope(0, echoResponse("a")), envelope(0, echoResponse("b")), endStream({})]))
          })
        })
        expectCode(yield* failureOf(client.clientStream([{ text: "x" }])), "unimplemented")
        const none = yield* clientOf((req, res) => {
          req.resume()
          req.on("end", () => {
            res.writeHead(200, streamHeaders)
            res.end(endStream({}))
          })
        })
        expectCode(yield* failureOf(none.clientStream([{ text: "x" }])), "unimplemented")
      }))
  })

  describe("client: timing edge cases", () => {
    it.scopedLive("a timeout beyond setTimeout's range (40 days) does not fire at once", () =>
      Effect.gen(function*() {
        const seen = yield* Deferred.make<string | undefined>()
        const client = yield* clientOf((req, res) => {
          Deferred.unsafeDone(seen, Exit.succeed(req.headers["connect-timeout-ms"] as string | undefined))
          req.resume()
          req.on("end", () =>
            setTimeout(() => {
              res.writeHead(200, { "content-type": "application/proto" })
              res.end(echoResponse("late but fine"))
            }, 30))
        })
        const response = yield* client.echo({ text: "x" }, { timeout: "40 days" }).pipe(Effect.timeout("3 seconds"))
        expect(response.text).toBe("late but fine")
        expect(yield* awaitWithin(seen, "the request")).toMatch(/^\d{1,10}$/)
        const streamed = yield* clientOf((req, res) => {
          req.resume()
          res.writeHead(200, streamHeaders)
          setTimeout(() => res.end(Buffer.concat([envelope(0, echoResponse("s")), endStream({})])), 30)
        })
        const messages = yield* collect(streamed.serverStream({ text: "x" }, { timeout: "40 days" })).pipe(Effect.timeout("3 seconds"))
        expect(messages.map((m) => m.text)).toEqual(["s"])
      }))

    it.scopedLive("a call's timeout starts when it runs, each time it runs, not when it was built", () =>
      Effect.gen(function*() {
        const client = yield* clientOf((req, res) => {
          req.resume()
          req.on("end", () =>
            setTimeout(() => {
              if (req.headers["content-type"] === "application/proto") {
                res.writeHead(200, { "content-type": "application/proto" })
                res.end(echoResponse("in time"))
              } else {
                res.writeHead(200, streamHeaders)
                res.end(Buffer.concat([envelope(0, echoResponse("in time")), endStream({})]))
              }
            }, 100))
        })
        const unary = client.echo({ text: "x" }, { timeout: "600 millis" })
        const stream = collect(client.serverStream({ text: "x" }, { timeout: "600 millis" }))
        const clientStream = client.clientStream([{ text: "x" }], { timeout: "600 millis" })
        yield* Effect.sleep("800 millis")
        for (let run = 0; run < 2; run++) {
          expect((yield* unary).text).toBe("in time")
          expect((yield* stream).map((m) => m.text)).toEqual(["in time"])
          expect((yield* clientStream).text).toBe("in time")
        }
      }))

    it.scopedLive("a server that answers a bidi call with an error before reading the requests: the call fails, the request stream stops", () =>
      Effect.gen(function*() {
        const client = yield* clientOf((req, res) => {
          res.writeHead(200, streamHeaders)
          res.end(endStream({ error: { code: "permission_denied", message: "go away" } }))
          req.resume()
        })
        let pulled = 0
        const requests = Stream.repeatEffect(Effect.as(Effect.sleep("5 millis"), { text: "more" })).pipe(Stream.tap(() => Effect.sync(() => pulled++)))
        let start = Date.now()
        const error = yield* failureOf(collect(client.bidiStream(requests)), "3 seconds")
        expectCode(error, "permission_denied")
        expect(Date.now() - start).toBeLessThan(1000)
        const after = pulled
        yield* Effect.sleep("100 millis")
        expect(pulled).toBe(after) // nobody pulls the requests any more
        start = Date.now()
        const counted = yield* failureOf(client.clientStream(requests), "3 seconds")
        expectCode(counted, "permission_denied")
        expect(Date.now() - start).toBeLessThan(1000)
      }))

    it.scopedLive("a unary 200 whose body arrives slowly is still read whole", () =>
      Effect.gen(function*() {
        const body = echoResponse("slowly".repeat(100))
        const client = yield* clientOf((req, res) => {
          req.resume()
          req.on("end", () => {
            res.writeHead(200, { "content-type": "application/proto", "content-length": String(body.byteLength) })
            let i = 0
            const timer = setInterval(() => {
              res.write(body.subarray(i, i + 100))
              i += 100
              if (i >= body.byteLength) {
                clearInterval(timer)
                res.end()
              }
            }, 5)
          })
        })
        const response = yield* client.echo({ text: "x" }).pipe(Effect.timeout("3 seconds"))
        expect(response.text).toBe("slowly".repeat(100))
      }))
  })

  describe("client: fuzzed responses", () => {
    it.scopedLive("whatever the status, headers and bytes: a message or a ConnectError, promptly, never a defect", () =>
      Effect.gen(function*() {
        let current: { status: number; headers: Record<string, string>; body: Uint8Array } = { status: 200, headers: {}, body: new Uint8Array(0) }
        const client = yield* clientOf((req, res) => {
          req.resume()
          req.on("end", () => {
            res.writeHead(current.status, current.headers)
            res.end(current.body)
          })
        }, { readMaxBytes: 4096 })
        const statusArb = fc.constantFrom(200, 200, 200, 400, 404, 408, 429, 500, 502, 503)
        const typeArb = fc.constantFrom(
          "application/proto",
          "application/json",
          "application/connect+proto",
          "application/connect+json",
          "text/html",
          "application/json; charset=utf-8"
        )
        const encodingArb = fc.option(fc.constantFrom("gzip", "br", "identity", "zstd"), { nil: undefined })
        const envelopesArb = fc.array(
          fc.oneof(
            fc.record({ flags: fc.integer({ min: 0, max: 3 }), data: fc.uint8Array({ maxLength: 40 }) }),
            fc.record({ flags: fc.constant(2), data: fc.jsonValue({ maxDepth: 2 }).map((j) => enc.encode(JSON.stringify(j))) }),
            fc.record({ flags: fc.constant(0), data: fc.string({ maxLength: 10 }).map(echoResponse) })
          ),
          { maxLength: 4 }
        ).map((es) => Buffer.concat(es.map((e) => envelope(e.flags, e.data))))
        const bodyArb = fc.oneof(
          fc.uint8Array({ maxLength: 100 }),
          envelopesArb,
          fc.jsonValue({ maxDepth: 2 }).map((j) => enc.encode(JSON.stringify(j))),
          fc.string({ maxLength: 10 }).map(echoResponse)
        )
        const check = <A>(call: Effect.Effect<A, ConnectError.ConnectError>) =>
          call.pipe(
            Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => new Error("no result within 3 s") }),
            Effect.exit,
            Effect.map((exit) => {
              if (Exit.isSuccess(exit)) return
              const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
              expect(ConnectError.isConnectError(failure), `not a ConnectError failure: ${String(exit.cause)}`).toBe(true)
              expect(Code.isCode((failure as ConnectError.ConnectError).code)).toBe(true)
            })
          )
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(statusArb, typeArb, encodingArb, bodyArb, async (status, type, encoding, body) => {
              current = {
                status,
                headers: {
                  "content-type": type,
                  ...(encoding === undefined ? {} : { "content-encoding": encoding, "connect-content-encoding": encoding })
                },
                body
              }
              await Effect.runPromise(check(client.echo({ text: "x" })))
              await Effect.runPromise(check(collect(client.serverStream({ text: "x" }))))
            }),
            { numRuns: 100 }
          )
        )
      }))
  })
})
