/**
 * Bytes that are not HTTP after a whole HTTP/1.1 request (a chunked body followed by junk, a
 * Content-Length shorter than what was sent): the request is answered in full, its stream with
 * its end-of-stream message, and then the connection closes. node:http on its own answered the
 * junk with a 400 written in place of the response, or destroyed a response already streaming.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import { describe, expect, it } from "@effect/vitest"
import { ConnectServer } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Buffer } from "node:buffer"
import * as Net from "node:net"
import { EchoRequestSchema, EchoResponseSchema, TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { parseResponse } from "./support/chunkedWire.js"
import { envelope, parseStreamBody } from "./support/rawHttp.js"
import { ourServer } from "./support/servers.js"

const messages = (count: number, delayMs: number) =>
  Buffer.concat(Array.from({ length: count }, (_, i) => envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: `m${i}`, delayMs })))))

const head = `POST /${TestService.typeName}/BidiStream HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+proto\r\n`
const chunked = (body: Buffer, end: string) =>
  Buffer.concat([Buffer.from(`${head}Transfer-Encoding: chunked\r\n\r\n${body.byteLength.toString(16)}\r\n`), body, Buffer.from(`\r\n${end}`)])

interface Exchange {
  /** Everything the server sent before it closed the connection. */
  readonly received: Buffer
  /** Whether the server closed it (rather than the test giving up). */
  readonly closedByServer: boolean
}

/**
 * Writes `request`, then `later` once the first bytes of the response have arrived, and reads
 * until the server closes the connection (or 5 s pass).
 */
const exchange = (request: Buffer, later?: Buffer) =>
  Effect.flatMap(ConnectServer.ConnectServer, ({ port }) =>
    Effect.async<Exchange>((resume) => {
      const socket = Net.connect(port, "127.0.0.1")
      const received: Array<Buffer> = []
      let pending = later
      const timer = setTimeout(() => {
        socket.destroy()
        resume(Effect.succeed({ received: Buffer.concat(received), closedByServer: false }))
      }, 5000)
      socket.on("data", (chunk) => {
        received.push(chunk)
        if (pending !== undefined) socket.write(pending)
        pending = undefined
      })
      socket.on("error", () => {})
      socket.on("close", () => {
        clearTimeout(timer)
        resume(Effect.succeed({ received: Buffer.concat(received), closedByServer: true }))
      })
      socket.write(request)
      return Effect.sync(() => socket.destroy())
    }))

/** The exchange's one response: a 200 stream of `count` echoes that ends with its end-of-stream message. */
const expectWholeStream = ({ received }: Exchange, count: number) => {
  const response = parseResponse(received)
  expect(response.status).toBe(200)
  const stream = parseStreamBody(response.body)
  expect(stream.messages.map((m) => fromBinary(EchoResponseSchema, m).text)).toEqual(Array.from({ length: count }, (_, i) => `m${i}`))
  expect(stream.end).toEqual({ metadata: { "x-test-trailer": ["done"] } })
  return response
}

describe("HTTP/1.1: bytes after a whole request", () => {
  const server = Layer.build(ourServer())
  const withServer = <A, E>(effect: Effect.Effect<A, E, ConnectServer.ConnectServer>) =>
    Effect.flatMap(server, (context) => Effect.provide(effect, context))

  it.scopedLive("a chunked body with a trailer section is a whole request; the next request is served", () =>
    withServer(Effect.gen(function*() {
      const echo = JSON.stringify({ text: "next" })
      const next = `POST /${TestService.typeName}/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${echo.length}\r\nConnection: close\r\n\r\n${echo}`
      const done = yield* exchange(Buffer.concat([chunked(messages(3, 0), "0\r\nX-Checksum: 1\r\n\r\n"), Buffer.from(next)]))
      expect(done.closedByServer).toBe(true)
      expectWholeStream(done, 3)
      expect(done.received.toString("latin1")).toContain('{"text":"next"')
    })))

  it.scopedLive("junk after a chunked body's end: the stream is answered whole, then the connection closes", () =>
    withServer(Effect.gen(function*() {
      const done = yield* exchange(chunked(messages(3, 0), "0\r\n\r\nGARBAGE\r\n\r\n"))
      expect(done.closedByServer).toBe(true)
      expect(expectWholeStream(done, 3).headers["connection"]).toBe("close")
    })))

  it.scopedLive("a Content-Length shorter than the body: the stream is answered whole, then the connection closes", () =>
    withServer(Effect.gen(function*() {
      const body = messages(3, 0)
      // The last 7 bytes (part of the third message) are read as the start of a next request.
      const declared = body.byteLength - 7
      const done = yield* exchange(Buffer.concat([Buffer.from(`${head}Content-Length: ${declared}\r\n\r\n`), body]))
      expect(done.closedByServer).toBe(true)
      // What was declared holds two whole messages and a cut third: answered, then the cut is an error.
      const response = parseResponse(done.received)
      const stream = parseStreamBody(response.body)
      expect(stream.messages.map((m) => fromBinary(EchoResponseSchema, m).text)).toEqual(["m0", "m1"])
      expect(stream.end.error.code).toBe("invalid_argument")
    })))

  it.scopedLive("junk arriving while the response streams: it is not cut off, the connection closes after it", () =>
    withServer(Effect.gen(function*() {
      // Each echo waits 100 ms: the junk arrives after the first response bytes, long before the end.
      const done = yield* exchange(chunked(messages(5, 100), "0\r\n\r\n"), Buffer.from("NOT HTTP\r\n\r\n"))
      expect(done.closedByServer).toBe(true)
      expectWholeStream(done, 5)
    })))
})
