/**
 * Peers that misbehave on purpose, on raw sockets and raw node:http2 sessions, each closed with
 * the test's Scope: what they are sent, when the server answered, and when it closed on them.
 */
import * as Effect from "effect/Effect"
import { Buffer } from "node:buffer"
import * as Http2 from "node:http2"
import * as Net from "node:net"

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
