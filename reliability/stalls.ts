/**
 * Peers that stop: each stall sends the start of an exchange (nothing, half a request's headers,
 * headers whose body never comes, half a body, a whole call and then silence) over HTTP/1.1 or
 * HTTP/2, and then sends nothing more, never closing. What a server owes each is an answer or a
 * close within its timeouts; `watchStall` records when each came.
 */
import { Buffer } from "node:buffer"
import * as Net from "node:net"
import { TestService } from "../test/gen/connecteffect/test/v1/test_pb.js"
import * as F from "./h2Frames.js"

const echoPath = `/${TestService.typeName}/Echo`

/** A stall: the bytes sent once connected, then silence. */
export interface Stall {
  readonly name: string
  readonly http2: boolean
  /** What it does, for the report. */
  readonly what: string
  readonly bytes: Buffer
}

const http1 = (name: string, what: string, text: string, body = Buffer.alloc(0)): Stall => ({
  name,
  http2: false,
  what,
  bytes: Buffer.concat([Buffer.from(text, "latin1"), body])
})

const requestHead = (contentLength: number) =>
  `POST ${echoPath} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/proto\r\n` +
  `connect-protocol-version: 1\r\ncontent-length: ${contentLength}\r\n\r\n`

const h2Request = (contentLength: number, endStream: boolean) =>
  F.headers(
    1,
    F.headerBlock([
      [":method", "POST"],
      [":scheme", "http"],
      [":authority", "127.0.0.1"],
      [":path", echoPath],
      ["content-type", "application/proto"],
      ["connect-protocol-version", "1"],
      ["content-length", String(contentLength)]
    ]),
    endStream
  )

const http2 = (name: string, what: string, ...frames: ReadonlyArray<Buffer>): Stall => ({
  name,
  http2: true,
  what,
  bytes: Buffer.concat([F.preface, F.settings(), ...frames])
})

/** Every stall, in the order of a call's stages. */
export const stalls: ReadonlyArray<Stall> = [
  http1("h1-silent", "HTTP/1.1 port: connects, sends nothing", ""),
  http1("h1-half-headers", "half a request's headers", `POST ${echoPath} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: appl`),
  http1("h1-no-body", "whole headers declaring a 100-byte body, no body", requestHead(100)),
  http1("h1-half-body", "whole headers declaring 100 bytes, 50 of them", requestHead(100), Buffer.alloc(50, 0x08)),
  http1("h1-idle", "a whole call (answered), then an idle keep-alive connection", requestHead(0)),
  http2("h2-idle-session", "HTTP/2 preface and SETTINGS, then silence"),
  http2("h2-no-body", "HEADERS declaring a 100-byte body, no DATA", h2Request(100, false)),
  http2("h2-half-body", "HEADERS declaring 100 bytes, DATA with 50 of them", h2Request(100, false), F.data(1, Buffer.alloc(50, 0x08), false)),
  http2("h2-idle", "a whole call (answered), then an idle session", h2Request(0, true))
]

/** When the server did what, in ms after the stall's bytes were written (undefined: never). */
export interface StallOutcome {
  /** The first response to the request: HTTP/1.1's status line, HTTP/2's HEADERS or RST_STREAM on stream 1. */
  readonly answeredMs: number | undefined
  /** HTTP/1.1: the response's status; HTTP/2: "headers" or "rst". */
  readonly answer: string | undefined
  /** HTTP/2: when the server sent GOAWAY. */
  readonly goawayMs: number | undefined
  /** When the server closed (FIN) or reset the connection. */
  readonly closedMs: number | undefined
}

/**
 * Connects to `port`, writes `stall`'s bytes, and then only listens (HTTP/2: it acknowledges the
 * server's SETTINGS, as a live peer's stack would) until the server closes the connection or
 * `boundMs` passes; then it closes its side.
 */
export const watchStall = (port: number, stall: Stall, boundMs: number): Promise<StallOutcome> =>
  new Promise((resolve) => {
    let sentAt = 0
    let answeredMs: number | undefined
    let answer: string | undefined
    let goawayMs: number | undefined
    let pending: Buffer = Buffer.alloc(0)
    const since = () => Date.now() - sentAt
    const socket = Net.connect({ port, host: "127.0.0.1" }, () => {
      sentAt = Date.now()
      socket.write(stall.bytes)
    })
    const finish = (closedMs: number | undefined) => {
      clearTimeout(bound)
      socket.destroy()
      resolve({ answeredMs, answer, goawayMs, closedMs })
    }
    const bound = setTimeout(() => finish(undefined), boundMs)
    socket.on("error", () => {})
    socket.on("close", () => finish(sentAt === 0 ? 0 : since()))
    socket.on("data", (chunk: Buffer) => {
      if (!stall.http2) {
        if (answeredMs === undefined) {
          answeredMs = since()
          answer = /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString("latin1"))?.[1] ?? "?"
        }
        return
      }
      pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk])
      const parsed = F.parseFrames(pending)
      pending = pending.subarray(pending.byteLength - parsed.rest)
      for (const frame of parsed.frames) {
        if (frame.type === F.frameType.settings && (frame.flags & F.flag.ack) === 0) socket.write(F.settingsAck())
        if (frame.type === F.frameType.goaway) goawayMs ??= since()
        if (frame.streamId === 1 && answeredMs === undefined) {
          if (frame.type === F.frameType.headers) answer = "headers"
          else if (frame.type === F.frameType.rstStream) answer = "rst"
          else continue
          answeredMs = since()
        }
      }
    })
  })
