/**
 * The universal HTTP client on node:http2: each exchange is one stream of a shared connection
 * (see http2Session.ts), its request body written by a fiber of the call's Scope while the
 * response is read, so a bidi call is full duplex. An exchange given up on is reset with
 * RST_STREAM CANCEL, which the peer sees as the call's cancellation.
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Http2 from "node:http2"
import { addAbortSignal } from "node:stream"
import type { Code } from "../code.js"
import { ConnectError, isConnectError } from "../connectError.js"
import { type ClientRequest, type ClientResponse, fromNodeHeaders, type HttpClientAdapter } from "../http.js"
import { readChunks, readWhole } from "./stream.js"
import { makeSessionPool, type SessionOptions, type SessionPool } from "./http2Session.js"

const { NGHTTP2_NO_ERROR } = Http2.constants

const ignore = () => {}

/** Each stream's session: node:http2 forgets it once the stream is closed, when its failure is read. */
const sessionOf = new WeakMap<Http2.ClientHttp2Stream, Http2.Http2Session>()

/** RST_STREAM and GOAWAY error codes as Connect codes (connect-es and gRPC's HTTP/2 mapping). */
const codeOfHttp2Error: Record<number, Code> = {
  0x1: "internal", // PROTOCOL_ERROR
  0x2: "internal", // INTERNAL_ERROR
  0x3: "internal", // FLOW_CONTROL_ERROR
  0x4: "internal", // SETTINGS_TIMEOUT
  0x6: "internal", // FRAME_SIZE_ERROR
  0x7: "unavailable", // REFUSED_STREAM: not processed, safe to try again
  0x8: "canceled", // CANCEL
  0x9: "internal", // COMPRESSION_ERROR
  0xa: "internal", // CONNECT_ERROR
  0xb: "resource_exhausted", // ENHANCE_YOUR_CALM
  0xc: "permission_denied", // INADEQUATE_SECURITY
  0xd: "permission_denied" // HTTP_1_1_REQUIRED
}

/** Headers that mean something for one HTTP/1.1 connection only, which HTTP/2 forbids. */
const connectionHeaders = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"])

/**
 * Why `stream` failed. A reset from the peer carries its code; a stream that ended because its
 * connection went away (dropped, PING timeout, GOAWAY with an error) is unavailable, like any
 * network failure.
 */
const streamError = (stream: Http2.ClientHttp2Stream, error?: Error): ConnectError => {
  if (isConnectError(error)) return error
  const session = sessionOf.get(stream)
  const rstCode = stream.rstCode
  if (rstCode !== undefined && rstCode !== NGHTTP2_NO_ERROR && session !== undefined && !session.destroyed) {
    return new ConnectError({
      code: codeOfHttp2Error[rstCode] ?? "unavailable",
      message: `HTTP/2 stream closed with error code 0x${rstCode.toString(16)}`,
      cause: error
    })
  }
  return new ConnectError({ code: "unavailable", message: error?.message ?? "HTTP/2 connection closed", cause: error })
}

/**
 * A response that "ended" because its connection was torn down: node:http2 ends the readable
 * side of every stream of a destroyed session, as if the peer had finished.
 */
const truncated = (stream: Http2.ClientHttp2Stream): ConnectError | undefined =>
  stream.rstCode !== undefined && stream.rstCode !== NGHTTP2_NO_ERROR && sessionOf.get(stream)?.destroyed !== false
    ? streamError(stream)
    : undefined

/** `http://host:port/base/path?query` as origin and path. */
const splitOrigin = (url: string): { readonly origin: string; readonly path: string } => {
  const slash = url.indexOf("/", url.indexOf("//") + 2)
  return slash === -1 ? { origin: url, path: "/" } : { origin: url.slice(0, slash), path: url.slice(slash) }
}

const requestHeaders = (request: ClientRequest, path: string): Http2.OutgoingHttpHeaders => {
  const headers: Http2.OutgoingHttpHeaders = { ":method": request.method, ":path": path }
  for (const name in request.headers) {
    if (!connectionHeaders.has(name)) headers[name] = request.headers[name]
  }
  return headers
}

/**
 * Resets `stream` with RST_STREAM CANCEL alone. node:http2's `close(NGHTTP2_CANCEL)` ends the
 * request first (END_STREAM, then RST_STREAM), and a server reads a client stream given up on as
 * whole; a stream destroyed by an AbortSignal is reset with CANCEL and nothing before it.
 */
const reset = (stream: Http2.ClientHttp2Stream) => {
  const abort = new AbortController()
  addAbortSignal(abort.signal, stream)
  abort.abort()
}

/** Resets `stream` unless both sides are done: the peer sees the call cancelled. */
const cancel = (stream: Http2.ClientHttp2Stream) =>
  Effect.sync(() => {
    if (!stream.closed && !stream.destroyed && !(stream.readableEnded && stream.writableFinished)) reset(stream)
  })

/** Waits for the response's headers; an interim (1xx) response is not one. */
const responseHead = (stream: Http2.ClientHttp2Stream) =>
  Effect.async<Http2.IncomingHttpHeaders & Http2.IncomingHttpStatusHeader, ConnectError>((resume) => {
    const done = () => {
      stream.off("response", onResponse)
      stream.off("error", onError)
      stream.off("close", onClose)
    }
    const onResponse = (headers: Http2.IncomingHttpHeaders & Http2.IncomingHttpStatusHeader) => {
      done()
      resume(Effect.succeed(headers))
    }
    const onError = (error: Error) => {
      done()
      resume(Effect.fail(streamError(stream, error)))
    }
    const onClose = () => {
      done()
      resume(Effect.fail(streamError(stream)))
    }
    stream.on("response", onResponse)
    stream.on("error", onError)
    stream.on("close", onClose)
    return Effect.sync(done)
  })

/** Resolves once the stream is over: the trailers the peer sent, or none. */
const trailersOf = (stream: Http2.ClientHttp2Stream): Effect.Effect<Headers.Headers, ConnectError> => {
  let trailers: Headers.Headers = Headers.empty
  stream.once("trailers", (raw: Http2.IncomingHttpHeaders) => trailers = fromNodeHeaders(raw))
  return Effect.async<Headers.Headers, ConnectError>((resume) => {
    const settle = () => {
      const failure = truncated(stream)
      resume(failure === undefined ? Effect.succeed(trailers) : Effect.fail(failure))
    }
    if (stream.readableEnded || stream.closed) return settle()
    stream.once("end", settle)
    stream.once("close", settle)
    return Effect.sync(() => {
      stream.off("end", settle)
      stream.off("close", settle)
    })
  })
}

const toResponse = (stream: Http2.ClientHttp2Stream, head: Http2.IncomingHttpHeaders & Http2.IncomingHttpStatusHeader): ClientResponse => {
  const headers = fromNodeHeaders(head)
  const failed = (error: Error | undefined) => streamError(stream, error)
  return {
    status: head[":status"] ?? 0,
    headers,
    // Built on first use: a unary call reads its body with `bytes` and never needs the Stream.
    get body() {
      return Stream.concat(
        readChunks(stream, failed),
        Stream.suspend(() => {
          const failure = truncated(stream)
          return failure === undefined ? Stream.empty : Stream.fail(failure)
        })
      )
    },
    bytes: (maxBytes) =>
      Effect.flatMap(readWhole(stream, headers, maxBytes, failed), (bytes) => {
        const failure = truncated(stream)
        return failure === undefined ? Effect.succeed(bytes) : Effect.fail(failure)
      }),
    trailers: trailersOf(stream)
  }
}

/**
 * Writes `body` into `stream` as fast as the peer's flow control lets it, then ends it; a body
 * that fails resets the stream. Stops as soon as the stream is gone.
 */
const writeBody = (stream: Http2.ClientHttp2Stream, body: Stream.Stream<Uint8Array, ConnectError>) => {
  const drained = Effect.async<boolean>((resume) => {
    const done = () => {
      stream.off("drain", done)
      stream.off("close", done)
      resume(Effect.succeed(!stream.destroyed))
    }
    stream.on("drain", done)
    stream.on("close", done)
    return Effect.sync(() => {
      stream.off("drain", done)
      stream.off("close", done)
    })
  })
  return Stream.runForEachWhile(body, (chunk) =>
    stream.destroyed || stream.closed
      ? Effect.succeed(false)
      : stream.write(chunk)
      ? Effect.succeed(true)
      : drained).pipe(
      Effect.matchCause({
        onSuccess: () => {
          if (!stream.destroyed && !stream.closed) stream.end()
        },
        onFailure: () => {
          if (!stream.destroyed && !stream.closed) reset(stream)
        }
      })
    )
}

/** @internal */
export interface Http2Adapter extends HttpClientAdapter {
  /** Connections open to every origin, for tests and diagnostics. */
  readonly sessions: () => number
  /** Closes every connection. */
  readonly close: Effect.Effect<void>
}

/** @internal */
export const makeHttp2Adapter = (options: SessionOptions): Http2Adapter => {
  const pools = new Map<string, SessionPool>()
  const poolOf = (origin: string) => {
    let pool = pools.get(origin)
    if (pool === undefined) {
      pool = makeSessionPool(origin, options)
      pools.set(origin, pool)
    }
    return pool
  }

  /** Opens the exchange's stream; the body, if it is bytes, goes with it. */
  const open = (request: ClientRequest) =>
    Effect.suspend(() => {
      const { origin, path } = splitOrigin(request.url)
      const body = request.body
      return Effect.map(poolOf(origin).request(requestHeaders(request, path), body === undefined), (stream) => {
        // Failures are read from the stream's state where they matter; an unheard error must not crash.
        stream.on("error", ignore)
        sessionOf.set(stream, stream.session!)
        if (body instanceof Uint8Array) stream.end(body)
        return stream
      })
    })

  const stream: HttpClientAdapter["stream"] = (request) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const h2 = yield* restore(open(request))
        yield* Effect.addFinalizer(() => cancel(h2))
        if (request.body !== undefined && !(request.body instanceof Uint8Array)) {
          // Forked, not awaited: the response is read while the request is still being written.
          yield* restore(Effect.forkScoped(writeBody(h2, request.body)))
        }
        return toResponse(h2, yield* restore(responseHead(h2)))
      })
    )

  return {
    unary: (request, use) =>
      request.body !== undefined && !(request.body instanceof Uint8Array)
        ? Effect.scoped(Effect.flatMap(stream(request), use))
        : Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(restore(open(request)), (h2) =>
            Effect.ensuring(
              restore(Effect.flatMap(responseHead(h2), (head) => use(toResponse(h2, head)))),
              cancel(h2)
            ))
        ),
    stream,
    sessions: () => {
      let n = 0
      for (const pool of pools.values()) n += pool.size()
      return n
    },
    close: Effect.suspend(() => Effect.forEach(pools.values(), (pool) => pool.close, { discard: true, concurrency: "unbounded" }))
  }
}
