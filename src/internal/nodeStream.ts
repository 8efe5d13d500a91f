/**
 * Node streams and Effect: a Readable (a node:http request on the server, an undici response
 * body on the client) read with its own callbacks, with no async iterator and no Stream for a
 * body read whole; and a Stream written into a Readable by a fiber of the caller's Scope.
 * @internal
 */
import type * as Headers from "@effect/platform/Headers"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Readable } from "node:stream"
import { ConnectError } from "../ConnectError.js"
import { concatBytes } from "./bytes.js"
import { declaredTooLarge, tooLarge } from "./http.js"

/**
 * Listens to `readable` until one of the handlers settles the read: each gets `done`, which
 * removes every listener. Returns the same removal, for interruption.
 */
const listen = (
  readable: Readable,
  on: (done: () => void) => {
    readonly data?: (chunk: Buffer) => void
    readonly readable?: () => void
    readonly end: () => void
    readonly error: (error: Error) => void
  }
): (() => void) => {
  const done = () => {
    if (handlers.data) readable.off("data", handlers.data)
    if (handlers.readable) readable.off("readable", handlers.readable)
    readable.off("end", handlers.end)
    readable.off("error", handlers.error)
    readable.off("aborted", handlers.error)
  }
  const handlers = on(done)
  if (handlers.data) readable.on("data", handlers.data)
  if (handlers.readable) readable.on("readable", handlers.readable)
  readable.on("end", handlers.end)
  readable.on("error", handlers.error)
  // node:http requests report a vanished client as "aborted" (and an error only when read).
  readable.on("aborted", handlers.error)
  return done
}

/**
 * The whole of `readable`, a body with `headers`, failing with resource_exhausted before a byte
 * is read when its declared length is past `maxBytes`, and as soon as it passes `maxBytes` when
 * it has none. On that failure the readable is left with no listener: the caller destroys it or
 * lets the rest be read and dropped.
 * @internal
 */
export const readWhole = (
  readable: Readable,
  headers: Headers.Headers,
  maxBytes: number,
  failed: (error: Error) => ConnectError
): Effect.Effect<Uint8Array, ConnectError> =>
  Effect.async<Uint8Array, ConnectError>((resume) => {
    const refused = declaredTooLarge(headers, maxBytes)
    if (refused !== undefined) {
      resume(Effect.fail(refused))
      return
    }
    if (readable.errored !== null) {
      resume(Effect.fail(failed(readable.errored)))
      return
    }
    const chunks: Array<Uint8Array> = []
    let size = 0
    const stop = listen(readable, (done) => ({
      data: (chunk) => {
        size += chunk.byteLength
        if (size <= maxBytes) {
          chunks.push(chunk)
          return
        }
        done()
        resume(Effect.fail(new ConnectError({ code: "resource_exhausted", message: tooLarge(size, maxBytes) })))
      },
      end: () => {
        done()
        resume(Effect.succeed(concatBytes(chunks, size)))
      },
      error: (error) => {
        done()
        resume(Effect.fail(failed(error)))
      }
    }))
    return Effect.sync(stop)
  })

/**
 * `readable` as a Stream of its chunks, pulled with `read()`, so that a stalled peer never
 * keeps the Stream from closing (closing `Stream.fromAsyncIterable` waits for the iterator's
 * `return()`, which waits behind a pending read). What happens to an unread rest is the
 * caller's choice, made when the Stream ends.
 * @internal
 */
export const readChunks = (
  readable: Readable,
  failed: (error: Error) => ConnectError
): Stream.Stream<Uint8Array, ConnectError> => {
  const pull = Effect.async<Chunk.Chunk<Uint8Array>, Option.Option<ConnectError>>((resume) => {
    const tryRead = (): boolean => {
      const chunk: Buffer | null = readable.read()
      if (chunk !== null) resume(Effect.succeed(Chunk.of(chunk)))
      else if (readable.readableEnded) resume(Effect.fail(Option.none()))
      else if (readable.errored !== null) resume(Effect.fail(Option.some(failed(readable.errored))))
      else return false
      return true
    }
    if (tryRead()) return
    const stop = listen(readable, (done) => ({
      readable: () => {
        if (tryRead()) done()
      },
      end: () => {
        done()
        resume(Effect.fail(Option.none()))
      },
      error: (error) => {
        done()
        resume(Effect.fail(Option.some(failed(error))))
      }
    }))
    return Effect.sync(stop)
  })
  return Stream.repeatEffectChunkOption(pull)
}

/**
 * `stream` as a Readable, written by a fiber of the Scope as fast as the Readable is read.
 * Closing the Scope stops the fiber at once and destroys the Readable, so that whoever reads it
 * (an HTTP client sending a request body) stops too; a failure of `stream` destroys the Readable
 * with the error itself.
 * @internal
 */
export const toReadable = <E extends Error>(stream: Stream.Stream<Uint8Array, E>): Effect.Effect<Readable, never, Scope.Scope> =>
  Effect.suspend(() => {
    let wake: (() => void) | undefined
    const readable = new Readable({
      read() {
        wake?.()
      }
    })
    const written = Effect.async<void>((resume) => {
      wake = () => {
        wake = undefined
        resume(Effect.void)
      }
    })
    const write = Stream.runForEach(stream, (chunk) => readable.push(chunk) ? Effect.void : written)
    return Effect.forkScoped(Effect.matchCause(write, {
      onSuccess: () => readable.push(null),
      onFailure: (cause) => {
        const failure = Cause.failureOption(cause)
        readable.destroy(Option.isSome(failure) ? failure.value : undefined)
      }
    })).pipe(
      Effect.zipRight(Effect.addFinalizer(() => Effect.sync(() => readable.destroy()))),
      Effect.as(readable)
    )
  })
