/**
 * Byte helpers shared by the HTTP adapters and the envelope reader.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConnectError } from "./connectError.js"
import { type HeadCheck, tooLarge } from "./http.js"

/**
 * `head`'s refusal of the bytes gathered, when the last append (to `bytes`, which held `before`
 * bytes) completed the head; nothing otherwise.
 * @internal
 */
export const headRefusal = (bytes: ByteAccumulator, before: number, head: HeadCheck | undefined): ConnectError | undefined =>
  head !== undefined && before < head.size && bytes.size >= head.size ? head.check(bytes.peek()) : undefined

/** `parts` in one buffer; a lone part as it is. @internal */
export const concatBytes = (parts: Iterable<Uint8Array>): Uint8Array => {
  const list = Array.from(parts)
  if (list.length === 1) return list[0]!
  const joined = new Uint8Array(list.reduce((size, part) => size + part.byteLength, 0))
  let offset = 0
  for (const part of list) {
    joined.set(part, offset)
    offset += part.byteLength
  }
  return joined
}

/**
 * Bytes arriving in chunks of any size, gathered into one buffer. Each chunk is copied once
 * into a buffer that doubles as it fills (up to `capacityLimit`), so that the time and the memory
 * spent on a body depend on its size, never on how finely a peer cut it: holding a list of a
 * million 3-byte chunks costs a hundred bytes of bookkeeping for each, and joining it late
 * blocks the event loop. A lone chunk is kept as it is, without a copy.
 * @internal
 */
export class ByteAccumulator {
  private lone: Uint8Array | undefined = undefined
  private buffer: Uint8Array | undefined = undefined
  size = 0

  /** `capacityLimit`: the most bytes this accumulator will ever hold (a size limit, a declared length). */
  constructor(private readonly capacityLimit: number = Number.MAX_SAFE_INTEGER) {}

  append(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    if (this.size === 0) {
      this.lone = chunk
      this.size = chunk.byteLength
      return
    }
    const needed = this.size + chunk.byteLength
    if (this.buffer === undefined || needed > this.buffer.byteLength) this.grow(needed)
    this.buffer!.set(chunk, this.size)
    this.size = needed
  }

  /** The bytes gathered so far, left in place. */
  peek(): Uint8Array {
    return this.lone ?? (this.buffer === undefined ? new Uint8Array(0) : this.buffer.subarray(0, this.size))
  }

  /** The bytes gathered so far; the accumulator is empty afterwards. */
  take(): Uint8Array {
    const bytes = this.peek()
    this.lone = undefined
    this.buffer = undefined
    this.size = 0
    return bytes
  }

  private grow(needed: number): void {
    const capacity = Math.min(Math.max(needed, 2 * (this.buffer?.byteLength ?? 0), 16 * 1024), Math.max(needed, this.capacityLimit))
    const next = new Uint8Array(capacity)
    if (this.lone !== undefined) {
      next.set(this.lone)
      this.lone = undefined
    } else if (this.buffer !== undefined) {
      next.set(this.buffer.subarray(0, this.size))
    }
    this.buffer = next
  }
}

/** Collects a byte stream, failing with resource_exhausted as soon as it passes `maxBytes`. @internal */
export const collectBounded = <E>(
  stream: Stream.Stream<Uint8Array, E>,
  maxBytes: number,
  head?: HeadCheck
): Effect.Effect<Uint8Array, E | ConnectError> =>
  Effect.suspend(() => {
    const bytes = new ByteAccumulator(maxBytes)
    return stream.pipe(
      Stream.runForEach((chunk) => {
        if (bytes.size + chunk.byteLength > maxBytes) {
          return Effect.fail(
            new ConnectError({ code: "resource_exhausted", message: tooLarge(bytes.size + chunk.byteLength, maxBytes) })
          )
        }
        const before = bytes.size
        bytes.append(chunk)
        const refused = headRefusal(bytes, before, head)
        return refused === undefined ? Effect.void : Effect.fail(refused)
      }),
      Effect.map(() => bytes.take())
    )
  })
