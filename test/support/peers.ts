/**
 * Peers that misbehave on purpose, on raw sockets and raw node:http2 sessions, each closed with
 * the test's Scope: what they are sent, when the server answered, and when it closed on them.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import { Buffer } from "node:buffer"
import * as Http2 from "node:http2"
import * as Net from "node:net"
import * as F from "../../reliability/h2Frames.js"
import { postHeaders } from "../../reliability/rawH2.js"
import { ServerStreamRequestSchema, TestService } from "../gen/connecteffect/test/v1/test_pb.js"
import { envelope } from "./rawHttp.js"

/** What became of a raw connection. */
export interface Fate {
  /** Everything the server sent. */
  readonly received: Buffer
  /** Milliseconds from the start to the first byte the server sent, if any. */
  readonly answeredAfter: number | undefined
  /** Milliseconds from the start to the server closing the connection, if it did in time. */
  readonly closedAfter: number | undefined
}

/**
 * Opens a connection to `port`, writes `bytes`, and waits until the server closes it or
 * `withinMs` pass (then the test closes it).
 */
export const rawConnection = (port: number, bytes: Buffer | string, withinMs: number): Effect.Effect<Fate> =>
  Effect.async<Fate>((resume) => {
    const start = Date.now()
    const received: Array<Buffer> = []
    let answeredAfter: number | undefined
    const socket = Net.connect(port, "127.0.0.1")
    const settle = (closedAfter: number | undefined) => {
      clearTimeout(timer)
      socket.destroy()
      resume(Effect.succeed({ received: Buffer.concat(received), answeredAfter, closedAfter }))
    }
    const timer = setTimeout(() => settle(undefined), withinMs)
    socket.on("data", (chunk) => {
      answeredAfter ??= Date.now() - start
      received.push(chunk)
    })
    socket.on("error", () => {})
    socket.on("close", () => settle(Date.now() - start))
    socket.write(bytes)
    return Effect.sync(() => {
      clearTimeout(timer)
      socket.destroy()
    })
  })

/**
 * An HTTP/2 peer on `port` that asks TestService for an endless stream of 64 KiB messages, with
 * windows as large as HTTP/2 allows, and never reads a byte: the server's writes fill the socket
 * and stay pending. Closed with the Scope.
 */
export const peerThatStopsReading = (port: number) =>
  Effect.acquireRelease(
    Effect.async<Net.Socket>((resume) => {
      const socket = Net.connect({ port, host: "127.0.0.1" }, () => {
        socket.pause()
        const request = toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "flood", count: 1_000_000, size: 64 * 1024 }))
        socket.write(Buffer.concat([
          F.preface,
          F.settings([[0x4, 2 ** 31 - 1]]),
          F.windowUpdate(0, 2 ** 31 - 1 - 65_535),
          F.headers(1, postHeaders(`/${TestService.typeName}/ServerStream`, [["content-type", "application/connect+proto"]]), false),
          F.data(1, envelope(0, request), true)
        ]))
        resume(Effect.succeed(socket))
      })
      socket.on("error", () => {})
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

/** A raw HTTP/2 session to `url`, closed with the Scope. */
export const rawSession = (url: string) =>
  Effect.acquireRelease(
    Effect.async<Http2.ClientHttp2Session>((resume) => {
      const session = Http2.connect(url)
      session.on("error", () => {})
      session.once("connect", () => resume(Effect.succeed(session)))
    }),
    (session) => Effect.sync(() => session.destroy())
  )

/** What became of a raw HTTP/2 stream. */
export interface StreamFate {
  readonly headers: Http2.IncomingHttpHeaders | undefined
  readonly body: Buffer
  readonly trailers: Http2.IncomingHttpHeaders | undefined
  /** The RST_STREAM code the stream closed with (0: none, or NO_ERROR). */
  readonly rstCode: number
  /** Milliseconds from the start to the stream closing. */
  readonly closedAfter: number
}

/** Reads `stream` (just opened) to its close, which must come within `withinMs`. */
export const streamFate = (stream: Http2.ClientHttp2Stream, withinMs: number): Effect.Effect<StreamFate, Error> =>
  Effect.async<StreamFate, Error>((resume) => {
    const start = Date.now()
    let headers: Http2.IncomingHttpHeaders | undefined
    let trailers: Http2.IncomingHttpHeaders | undefined
    const body: Array<Buffer> = []
    const timer = setTimeout(() => resume(Effect.fail(new Error(`the stream was still open after ${withinMs} ms`))), withinMs)
    stream.on("response", (h) => headers = h)
    stream.on("trailers", (t) => trailers = t)
    stream.on("data", (chunk: Buffer) => body.push(chunk))
    stream.on("error", () => {})
    stream.on("close", () => {
      clearTimeout(timer)
      resume(Effect.succeed({ headers, body: Buffer.concat(body), trailers, rstCode: stream.rstCode ?? 0, closedAfter: Date.now() - start }))
    })
    return Effect.sync(() => {
      clearTimeout(timer)
      stream.close(Http2.constants.NGHTTP2_CANCEL)
    })
  })
