/**
 * A connection stays usable after the server answers a stream before its request body has
 * ended: the rest of the body is read and discarded, and the next request on the same
 * keep-alive connection is served. (Node stops draining an unread body on its own once the
 * body has been read from, so the server must do it.) Live clock: the server's deadline must
 * really pass.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { describe, expect, it } from "@effect/vitest"
import { ConnectServer } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Net from "node:net"
import { EchoRequestSchema } from "./gen/connecteffect/test/v1/test_pb.js"
import { ourServer } from "./support/servers.js"

const envelope = (payload: Uint8Array) => {
  const out = Buffer.alloc(5 + payload.byteLength)
  out.writeUInt32BE(payload.byteLength, 1)
  out.set(payload, 5)
  return out
}
const chunk = (data: Buffer) => Buffer.concat([Buffer.from(`${data.byteLength.toString(16)}\r\n`), data, Buffer.from("\r\n")])

/** Reads from the socket until `done` holds of everything read so far, or fails after `ms`. */
const readUntil = (socket: Net.Socket, done: (text: string) => boolean, ms = 3000) =>
  Effect.async<string, Error>((resume) => {
    let text = ""
    const onData = (data: Buffer) => {
      text += data.toString("latin1")
      if (done(text)) {
        cleanup()
        resume(Effect.succeed(text))
      }
    }
    const timer = setTimeout(() => {
      cleanup()
      resume(Effect.fail(new Error(`no complete response within ${ms} ms; got: ${JSON.stringify(text.slice(0, 200))}`)))
    }, ms)
    const cleanup = () => {
      clearTimeout(timer)
      socket.off("data", onData)
    }
    socket.on("data", onData)
  })

const connect = Effect.flatMap(ConnectServer.ConnectServer, ({ port }) =>
  Effect.acquireRelease(
    Effect.async<Net.Socket>((resume) => {
      const s = Net.connect(port, "127.0.0.1", () => resume(Effect.succeed(s)))
    }),
    (s) => Effect.sync(() => s.destroy())
  ))

const startClientStream = (socket: Net.Socket, extraHeaders = "") =>
  socket.write(
    "POST /connecteffect.test.v1.TestService/ClientStream HTTP/1.1\r\nHost: x\r\n" +
      `Content-Type: application/connect+proto\r\nTransfer-Encoding: chunked\r\n${extraHeaders}\r\n`
  )

/** The client finishes the body it had left unfinished, sends an Echo, and must get its answer. */
const finishAndSendNext = (socket: Net.Socket) =>
  Effect.gen(function*() {
    socket.write(chunk(envelope(toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: "late" })))))
    socket.write("0\r\n\r\n")
    const echo = Buffer.from(JSON.stringify({ text: "next" }))
    socket.write(
      "POST /connecteffect.test.v1.TestService/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${echo.byteLength}\r\n\r\n`
    )
    socket.write(echo)
    const second = yield* readUntil(socket, (t) => t.includes('"text":"next"'))
    expect(second).toContain("HTTP/1.1 200")
  })

const smallLimits = ourServer({ readMaxBytes: 64 * 1024 })

/** Whether `t` holds a whole response, framed by its Content-Length or chunked. */
const wholeResponse = (t: string) => {
  const headEnd = t.indexOf("\r\n\r\n")
  if (headEnd === -1) return false
  const length = /\r\ncontent-length: (\d+)\r\n/i.exec(t.slice(0, headEnd + 2))
  return length === null ? t.includes("\r\n0\r\n\r\n", headEnd) : t.length >= headEnd + 4 + Number(length[1])
}

describe("keep-alive connections", () => {
  it.live("serve the next request after a stream failed on an invalid message before its body ended", () =>
    Effect.gen(function*() {
      const socket = yield* connect
      startClientStream(socket)
      socket.write(chunk(envelope(Buffer.from([0xff, 0xff, 0xff]))))
      expect(yield* readUntil(socket, wholeResponse)).toContain("invalid_argument")
      yield* finishAndSendNext(socket)
    }).pipe(Effect.provide(ourServer()), Effect.scoped))

  it.live("serve the next request after a stream's deadline passed while its body was still being read", () =>
    Effect.gen(function*() {
      const socket = yield* connect
      startClientStream(socket, "Connect-Timeout-Ms: 100\r\n")
      socket.write(chunk(envelope(toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: "first" })))))
      expect(yield* readUntil(socket, wholeResponse)).toContain("deadline_exceeded")
      yield* finishAndSendNext(socket)
    }).pipe(Effect.provide(ourServer()), Effect.scoped))

  it.live("serve the next request after a stream whose large body was refused at its first envelope", () =>
    Effect.gen(function*() {
      const socket = yield* connect
      startClientStream(socket)
      // One envelope claiming 1 MiB, all of it sent: far more than the socket and request buffers hold.
      const big = envelope(Buffer.alloc(1024 * 1024, 7))
      socket.write(chunk(big))
      socket.write("0\r\n\r\n")
      expect(yield* readUntil(socket, wholeResponse)).toContain("resource_exhausted")
      const echo = Buffer.from(JSON.stringify({ text: "next" }))
      socket.write(
        "POST /connecteffect.test.v1.TestService/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
          `Content-Length: ${echo.byteLength}\r\n\r\n`
      )
      socket.write(echo)
      expect(yield* readUntil(socket, (t) => t.includes('"text":"next"'))).toContain("HTTP/1.1 200")
    }).pipe(Effect.provide(smallLimits), Effect.scoped))
})
