/**
 * The universal server model on node:http (and later node:http2): the fast path, with one
 * fiber per request and nothing between the socket and the protocol.
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type * as Http from "node:http"
import { ConnectError } from "../../ConnectError.js"
import { concatBytes } from "../bytes.js"
import type { ServerHandler, ServerRequest, ServerResponse } from "../http.js"
import { declaredTooLarge, splitUrl, tooLarge } from "../http.js"

const aborted = (cause?: unknown) =>
  new ConnectError({ code: "canceled", message: "the client closed the request", cause })

/**
 * Listens to a request until one of the handlers settles the read: each gets `done`, which
 * removes every listener. Returns the same removal, for interruption.
 */
const listen = (
  req: Http.IncomingMessage,
  on: (done: () => void) => {
    readonly data?: (chunk: Buffer) => void
    readonly readable?: () => void
    readonly end: () => void
    readonly error: (error: Error) => void
  }
): (() => void) => {
  const done = () => {
    if (handlers.data) req.off("data", handlers.data)
    if (handlers.readable) req.off("readable", handlers.readable)
    req.off("end", handlers.end)
    req.off("error", handlers.error)
    req.off("aborted", handlers.error)
  }
  const handlers = on(done)
  if (handlers.data) req.on("data", handlers.data)
  if (handlers.readable) req.on("readable", handlers.readable)
  req.on("end", handlers.end)
  req.on("error", handlers.error)
  req.on("aborted", handlers.error)
  return done
}

/** A unary body, whole: one callback-driven read, no Stream. */
const readBody = (req: Http.IncomingMessage, headers: Headers.Headers, maxBytes: number): Effect.Effect<Uint8Array, ConnectError> =>
  Effect.async<Uint8Array, ConnectError>((resume) => {
    const refused = declaredTooLarge(headers, maxBytes)
    if (refused !== undefined) {
      resume(Effect.fail(refused))
      return
    }
    const chunks: Array<Uint8Array> = []
    let size = 0
    const stop = listen(req, (done) => ({
      data: (chunk) => {
        size += chunk.byteLength
        if (size <= maxBytes) {
          chunks.push(chunk)
          return
        }
        // Still flowing without a listener: the rest of the body is read and dropped.
        done()
        resume(Effect.fail(new ConnectError({ code: "resource_exhausted", message: tooLarge(size, maxBytes) })))
      },
      end: () => {
        done()
        resume(Effect.succeed(concatBytes(chunks, size)))
      },
      error: (error) => {
        done()
        resume(Effect.fail(aborted(error)))
      }
    }))
    return Effect.sync(stop)
  })

/**
 * The request body as a Stream, pulled with `read()`. When reading stops before the body has
 * ended (a limit, a deadline, a handler that has heard enough), the rest is read and dropped,
 * as Node does for a body never read: otherwise a large unread rest fills the request's buffer,
 * the socket pauses, and the next request on the keep-alive connection is never parsed.
 * (Not `Stream.fromAsyncIterable`: closing that waits for the iterator's `return()`, which waits
 * behind a pending read, so a deadline could not end a call whose client stalls mid-body.)
 */
const readStream = (req: Http.IncomingMessage): Stream.Stream<Uint8Array, ConnectError> => {
  const pull = Effect.async<Chunk.Chunk<Uint8Array>, Option.Option<ConnectError>>((resume) => {
    const tryRead = (): boolean => {
      const chunk: Buffer | null = req.read()
      if (chunk !== null) resume(Effect.succeed(Chunk.of(chunk)))
      else if (req.readableEnded) resume(Effect.fail(Option.none()))
      else return false
      return true
    }
    if (tryRead()) return
    const stop = listen(req, (done) => ({
      readable: () => {
        if (tryRead()) done()
      },
      end: () => {
        done()
        resume(Effect.fail(Option.none()))
      },
      error: (error) => {
        done()
        resume(Effect.fail(Option.some(aborted(error))))
      }
    }))
    return Effect.sync(stop)
  })
  return Stream.ensuring(
    Stream.repeatEffectChunkOption(pull),
    Effect.sync(() => {
      // After the tick in which Node notices the last "readable" listener is gone, so that
      // resume() really switches the request to flowing (and discarding) mode.
      if (!req.readableEnded) process.nextTick(() => req.resume())
    })
  )
}

const toHeaders = (raw: Http.IncomingHttpHeaders): Headers.Headers => {
  const out: Record<string, string> = {}
  for (const name in raw) {
    const value = raw[name]
    if (value !== undefined) out[name] = typeof value === "string" ? value : value.join(", ")
  }
  return Headers.unsafeFromRecord(out)
}

/** @internal */
export const toServerRequest = (req: Http.IncomingMessage, url: string = req.url ?? "/"): ServerRequest => {
  const headers = toHeaders(req.headers)
  return {
    method: req.method ?? "GET",
    ...splitUrl(url),
    headers,
    // Built on first use: a unary call reads its body with `bytes` and never needs the Stream.
    get body() {
      return readStream(req)
    },
    bytes: (maxBytes) => readBody(req, headers, maxBytes)
  }
}

const waitForDrain = (res: Http.ServerResponse) =>
  Effect.async<void>((resume) => {
    const done = () => {
      res.off("drain", done)
      res.off("close", done)
      resume(Effect.void)
    }
    res.on("drain", done)
    res.on("close", done)
    return Effect.sync(() => {
      res.off("drain", done)
      res.off("close", done)
    })
  })

const writeResponse = (res: Http.ServerResponse, response: ServerResponse): Effect.Effect<void> => {
  const body = response.body
  if (body === undefined || body instanceof Uint8Array) {
    // A known length spares the client chunked decoding and lets it read the body in one go.
    res.writeHead(response.status, { ...response.headers, "content-length": String(body?.byteLength ?? 0) })
    res.end(body)
    return Effect.void
  }
  res.writeHead(response.status, response.headers)
  return body.pipe(
    Stream.runForEachChunk((chunk) => {
      // One syscall for all the envelopes a chunk holds, rather than one each.
      res.cork()
      let drained = true
      for (const bytes of chunk) drained = res.write(bytes)
      res.uncork()
      return drained ? Effect.void : waitForDrain(res)
    }),
    Effect.onExit((exit) => Effect.sync(() => (Exit.isSuccess(exit) ? res.end() : res.destroy())))
  )
}

/**
 * A node:http request listener serving `handler`, forking one fiber per request with
 * `runFork`; a client that goes away interrupts its fiber.
 * @internal
 */
export const nodeListener = (
  handler: ServerHandler,
  runFork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
) =>
(req: Http.IncomingMessage, res: Http.ServerResponse): void => {
  const fiber = runFork(Effect.scoped(Effect.flatMap(handler(toServerRequest(req)), (response) => writeResponse(res, response))))
  res.on("close", () => {
    if (!res.writableEnded) fiber.unsafeInterruptAsFork(fiber.id())
  })
}
