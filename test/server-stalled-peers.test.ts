/**
 * Peers that stop sending: many connections that declare a body and never send it, or send
 * half their headers, are answered or closed within the server's timeouts (small ones here),
 * while a valid call still succeeds; a stream that stops in the middle of a message ends with
 * deadline_exceeded and its exchange is closed; a stream that merely waits between messages is
 * left alone; and a body still open after its response is closed once it has been silent.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import { describe, expect, it } from "@effect/vitest"
import { ConnectServer } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Buffer } from "node:buffer"
import * as Http2 from "node:http2"
import { EchoRequestSchema, EchoResponseSchema, TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { parseResponse } from "./support/chunkedWire.js"
import { rawConnection, rawSession, streamFate } from "./support/peers.js"
import { envelope, jsonOf, parseStreamBody, rawRequest } from "./support/rawHttp.js"
import { ourPlatformServerUrl, ourServer } from "./support/servers.js"

const idleMs = 500
/** Generous: a loaded CI machine is slow, and each bound is still far below Node's own minutes. */
const withinMs = 8000

const serve = Effect.map(
  Layer.build(ourServer({ readIdleTimeoutMs: idleMs, headersTimeoutMs: idleMs })),
  (context) => Context.get(context, ConnectServer.ConnectServer)
)

const echoPath = `/${TestService.typeName}/Echo`
const message = (text: string) => envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { text })))

/** A valid unary call, answered while the stalled peers wait. */
const validCall = (url: string) =>
  Effect.gen(function*() {
    const res = yield* rawRequest(url, {
      path: echoPath,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "still serving" })
    })
    expect([res.status, jsonOf(res.body).text]).toEqual([200, "still serving"])
  }).pipe(Effect.timeout(`${withinMs} millis`), Effect.orDie)

describe("HTTP/1.1 connections that stall", () => {
  it.scopedLive("50 that declare a 100-byte body and send none: each answered deadline_exceeded, then closed", () =>
    Effect.gen(function*() {
      const server = yield* serve
      const request = `POST ${echoPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Length: 100\r\n\r\n`
      const [fates] = yield* Effect.all([
        Effect.forEach(Array.from({ length: 50 }), () => rawConnection(server.port, request, withinMs), { concurrency: "unbounded" }),
        Effect.zipRight(Effect.sleep("100 millis"), validCall(server.url))
      ], { concurrency: "unbounded" })
      for (const fate of fates) {
        expect(fate.closedAfter).toBeDefined()
        const response = parseResponse(fate.received)
        expect([response.status, jsonOf(response.body).code]).toEqual([504, "deadline_exceeded"])
        expect(fate.answeredAfter).toBeGreaterThanOrEqual(idleMs - 50)
      }
    }))

  it.scopedLive("50 that send half their headers: each closed by headersTimeoutMs", () =>
    Effect.gen(function*() {
      const server = yield* serve
      const [fates] = yield* Effect.all([
        Effect.forEach(
          Array.from({ length: 50 }),
          () => rawConnection(server.port, `POST ${echoPath} HTTP/1.1\r\nHost: x\r\nContent-Type: appl`, withinMs),
          { concurrency: "unbounded" }
        ),
        Effect.zipRight(Effect.sleep("100 millis"), validCall(server.url))
      ], { concurrency: "unbounded" })
      for (const fate of fates) {
        expect(fate.closedAfter).toBeDefined()
        expect(fate.received.toString("latin1")).toMatch(/^(HTTP\/1.1 408 |$)/)
      }
    }))

  it.scopedLive("a client stream stalled in the middle of a message: deadline_exceeded in its end-of-stream, then closed", () =>
    Effect.gen(function*() {
      const server = yield* serve
      const half = message("never finished").subarray(0, 7)
      const fate = yield* rawConnection(
        server.port,
        Buffer.concat([
          Buffer.from(
            `POST /${TestService.typeName}/ClientStream HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+proto\r\n` +
              `Transfer-Encoding: chunked\r\n\r\n${half.byteLength.toString(16)}\r\n`
          ),
          half,
          Buffer.from("\r\n")
        ]),
        withinMs
      )
      expect(fate.closedAfter).toBeDefined()
      const response = parseResponse(fate.received)
      expect(response.status).toBe(200)
      expect(parseStreamBody(response.body).end.error.code).toBe("deadline_exceeded")
    }))

  it.scopedLive("a body still arriving after its response (here a 404) is closed once it has been silent", () =>
    Effect.gen(function*() {
      const server = yield* serve
      const fate = yield* rawConnection(
        server.port,
        "POST /no.Such/Method HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Length: 100\r\n\r\nabc",
        withinMs
      )
      expect(parseResponse(fate.received).status).toBe(404)
      // Silent since its first bytes, sent with the headers.
      expect(fate.closedAfter).toBeGreaterThanOrEqual(idleMs - 50)
    }))
})

describe("HTTP/2 streams that stall", () => {
  const streamHeaders = (path: string, contentType: string) => ({
    ":method": "POST",
    ":path": `/${TestService.typeName}/${path}`,
    "content-type": contentType
  })

  it.scopedLive("a unary body that never comes: deadline_exceeded, the stream closed, the session still serving", () =>
    Effect.gen(function*() {
      const server = yield* serve
      const session = yield* rawSession(server.url)
      const stream = session.request({ ...streamHeaders("Echo", "application/proto"), "content-length": "100" }, { endStream: false })
      const fate = yield* streamFate(stream, withinMs)
      expect(fate.headers?.[":status"]).toBe(504)
      expect(jsonOf(fate.body).code).toBe("deadline_exceeded")
      expect(fate.rstCode).toBe(Http2.constants.NGHTTP2_NO_ERROR)
      const next = session.request(streamHeaders("Echo", "application/json"))
      next.end(JSON.stringify({ text: "next" }))
      expect(jsonOf((yield* streamFate(next, withinMs)).body).text).toBe("next")
    }))

  it.scopedLive("a gRPC client stream stalled in the middle of a message: DEADLINE_EXCEEDED in its trailers, the stream closed", () =>
    Effect.gen(function*() {
      const server = yield* serve
      const session = yield* rawSession(server.url)
      const stream = session.request({ ...streamHeaders("ClientStream", "application/grpc"), te: "trailers" }, { endStream: false })
      stream.write(message("never finished").subarray(0, 3))
      const fate = yield* streamFate(stream, withinMs)
      expect(fate.headers?.[":status"]).toBe(200)
      expect((fate.trailers ?? fate.headers)?.["grpc-status"]).toBe("4")
    }))

  it.scopedLive("a bidi stream that waits between messages longer than readIdleTimeoutMs is left alone", () =>
    Effect.gen(function*() {
      const server = yield* serve
      const session = yield* rawSession(server.url)
      const stream = session.request(streamHeaders("BidiStream", "application/connect+proto"), { endStream: false })
      const fate = Effect.runFork(streamFate(stream, withinMs))
      stream.write(message("first"))
      yield* Effect.sleep(`${3 * idleMs} millis`)
      stream.end(message("second"))
      const { body } = yield* fate.await.pipe(Effect.flatten)
      const parsed = parseStreamBody(body)
      expect(parsed.messages.map((m) => fromBinary(EchoResponseSchema, m).text)).toEqual(["first", "second"])
      expect(parsed.end.error).toBeUndefined()
    }))
})

describe("toHttpApp", () => {
  it.scopedLive("a unary body that never comes is answered deadline_exceeded", () =>
    Effect.gen(function*() {
      const url = yield* ourPlatformServerUrl({ readIdleTimeoutMs: idleMs })
      const fate = yield* rawConnection(
        Number(new URL(url).port),
        `POST ${echoPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Length: 100\r\nConnection: close\r\n\r\n`,
        withinMs
      )
      const response = parseResponse(fate.received)
      expect([response.status, jsonOf(response.body).code]).toEqual([504, "deadline_exceeded"])
    }))
})
