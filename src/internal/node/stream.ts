/**
 * Node streams and Effect: a Readable (a node:http request on the server, an undici response
 * body on the client) read with its own callbacks, with no async iterator and no Stream for a
 * body read whole, in time linear in its size however finely the peer cut it; and a Stream
 * written into a Readable by a fiber of the caller's Scope.
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
import { ConnectError } from "../connectError.js"
import { ByteAccumulator, headRefusal } from "../bytes.js"
import { declaredTooLarge, type ReadOptions, tooLarge } from "../http.js"
import { bodyStalled } from "../idle.js"

/**
 * Listens to `readable` until one of the handlers settles the read: each gets `done`, which
 * removes every listener. Returns the same removal, for interruption.
 */
const listen = (
  readable: Readable,
  on: (done: () => void) => {
    readonly data: (chunk: Buffer) => void
    readonly end: () => void
    readonly error: (error: Error) => void
  }
): (() => void) => {
  const done = () => {
    readable.off("data", handlers.data)
    readable.off("end", handlers.end)
    readable.off("error", handlers.error)
    readable.off("aborted", aborted)
  }
  const handlers = on(done)
  // node:http requests report a vanished client as "aborted" (and an error only when read); a
  // node:http2 stream reports so too when it closes with its writable side still open, which
  // after the whole body has arrived (a server that answered before the request ended) is no error.
  const aborted = () => {
    if (!readable.readableEnded) handlers.error(new Error("the peer aborted the stream"))
  }
  readable.on("data", handlers.data)
  readable.on("end", handlers.end)
  readable.on("error", handlers.error)
  readable.on("aborted", aborted)
  return done
}

/**
 * When a body last delivered bytes (epoch milliseconds), kept by its readers, so that whoever
 * holds the body afterwards can tell how long it has been silent.
 * @internal
 */
export interface BodyClock {
  lastByteAt: number
}

/**
 * The whole of `readable`, a body with `headers`, failing with resource_exhausted before a byte
 * is read when its declared length is past `maxBytes`, and as soon as it passes `maxBytes` when
 * it has none; with `idleMs`, failing with deadline_exceeded (`bodyStalled`) when that long
 * passes without a byte. On a failure the readable is left with no listener: the caller
 * destroys it or lets the rest be read and dropped.
 * @internal
 */
export const readWhole = (
  readable: Readable,
  headers: Headers.Headers,
  maxBytes: number,
  failed: (error: Error) => ConnectError,
  options: ReadOptions & { readonly clock?: BodyClock | undefined } = {}
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
    // The buffer grows no larger than a declared length.
    const declared = Number(headers["content-length"] ?? maxBytes)
    const bytes = new ByteAccumulator(Number.isFinite(declared) ? Math.min(declared, maxBytes) : maxBytes)
    // Refreshed by every chunk: it fires only after `idleMs` without one.
    const { clock, idleMs } = options
    const idle = idleMs === undefined ? undefined : setTimeout(() => settle(Effect.fail(bodyStalled(idleMs))), idleMs)
    const stop = () => {
      clearTimeout(idle)
      unlisten()
    }
    const settle = (result: Effect.Effect<Uint8Array, ConnectError>) => {
      stop()
      resume(result)
    }
    const unlisten = listen(readable, () => ({
      data: (chunk) => {
        idle?.refresh()
        if (clock !== undefined) clock.lastByteAt = Date.now()
        const size = bytes.size + chunk.byteLength
        let refused: ConnectError | undefined
        if (size > maxBytes) {
          refused = new ConnectError({ code: "resource_exhausted", message: tooLarge(size, maxBytes) })
        } else {
          const before = bytes.size
          bytes.append(chunk)
          refused = headRefusal(bytes, before, options.head)
        }
        if (refused !== undefined) settle(Effect.fail(refused))
      },
      end: () => settle(Effect.succeed(bytes.take())),
      error: (error) => settle(Effect.fail(failed(error)))
    }))
    return Effect.sync(stop)
  })

/** How many bytes a Stream pull of a Readable hands over at most before the Readable is paused. */
const pullBytes = 64 * 1024

/**
 * `readable` as a Stream of byte chunks, with no async iterator: closing
 * `Stream.fromAsyncIterable` waits for the iterator's `return()`, which waits behind a pending
 * read, so a stalled peer would keep the Stream from closing.
 *
 * Whatever arrives is gathered into one buffer, handed to the pull that waits for it once the
 * current turn of the event loop has delivered everything it holds (or at once past
 * `pullBytes`, when the Readable is also paused until the next pull). node:http runs the ticks
 * and microtasks after every body chunk it parses, so a pull per chunk would cost one Stream
 * step for each of a hostile peer's million 3-byte chunks.
 *
 * When the Stream ends before the body does, the rest flows away unread (the peer's socket is
 * never left paused): the caller may also destroy the Readable.
 * @internal
 */
export const readChunks = (
  readable: Readable,
  failed: (error: Error) => ConnectError,
  clock?: BodyClock
): Stream.Stream<Uint8Array, ConnectError> =>
  Stream.suspend(() => {
    const received = new ByteAccumulator()
    let ended = readable.readableEnded
    let error: ConnectError | undefined = readable.errored === null ? undefined : failed(readable.errored)
    let pausedByUs = false
    let wake: (() => boolean) | undefined
    let wakeScheduled = false
    const wakeNow = () => {
      wakeScheduled = false
      if (wake?.()) wake = undefined
    }
    const stop = listen(readable, () => ({
      data: (chunk) => {
        if (clock !== undefined) clock.lastByteAt = Date.now()
        received.append(chunk)
        if (received.size >= pullBytes) {
          readable.pause()
          pausedByUs = true
          wakeNow()
        } else if (wake !== undefined && !wakeScheduled) {
          wakeScheduled = true
          setImmediate(wakeNow)
        }
      },
      end: () => {
        ended = true
        wakeNow()
      },
      error: (e) => {
        error ??= failed(e)
        wakeNow()
      }
    }))
    const pull = Effect.async<Chunk.Chunk<Uint8Array>, Option.Option<ConnectError>>((resume) => {
      const settle = (): boolean => {
        if (received.size > 0) {
          resume(Effect.succeed(Chunk.of(received.take())))
          if (pausedByUs) {
            pausedByUs = false
            readable.resume()
          }
        } else if (error !== undefined) resume(Effect.fail(Option.some(error)))
        else if (ended) resume(Effect.fail(Option.none()))
        else return false
        return true
      }
      if (settle()) return
      wake = settle
      return Effect.sync(() => {
        wake = undefined
      })
    })
    return Stream.ensuring(
      Stream.repeatEffectChunkOption(pull),
      Effect.sync(() => {
        stop()
        if (!readable.readableEnded) readable.resume()
      })
    )
  })

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
