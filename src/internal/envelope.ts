/**
 * Length-prefixed message framing shared by Connect streaming, gRPC and gRPC-Web:
 * one flags byte, a 4-byte big-endian length, then the payload.
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConnectError } from "./connectError.js"
import type { HeadCheck } from "./http.js"
import { ByteAccumulator } from "./bytes.js"
import { cardinalityError } from "./exactlyOne.js"
import { failWhenIdle } from "./idle.js"

/** @internal */
export const flagCompressed = 0b00000001
/** @internal */
export const flagEndStream = 0b00000010

/** @internal */
export interface Envelope {
  readonly flags: number
  readonly data: Uint8Array
}

/** @internal */
export const encodeEnvelope = (flags: number, data: Uint8Array): Uint8Array => {
  const bytes = new Uint8Array(data.byteLength + 5)
  bytes[0] = flags
  new DataView(bytes.buffer).setUint32(1, data.byteLength)
  bytes.set(data, 5)
  return bytes
}

const envelopeTooLarge = (length: number, readMaxBytes: number) =>
  new ConnectError({ code: "resource_exhausted", message: `message size ${length} is larger than configured readMaxBytes ${readMaxBytes}` })

/**
 * A check of a body's length prefix as soon as it arrives: a body of one envelope announcing more
 * than `readMaxBytes` fails without waiting for the rest.
 * @internal
 */
export const envelopeHead = (readMaxBytes: number): HeadCheck => ({
  size: 5,
  check: (head) => {
    const length = new DataView(head.buffer, head.byteOffset, 5).getUint32(1)
    return length > readMaxBytes ? envelopeTooLarge(length, readMaxBytes) : undefined
  }
})

/**
 * Splits a byte stream into envelopes. A length prefix above `readMaxBytes` fails with
 * resource_exhausted before anything is allocated for it; bytes left over at the end of the
 * input fail with invalid_argument (a truncated envelope). An envelope that lies whole inside
 * one chunk is a view of it; one cut across chunks is gathered by a `ByteAccumulator`, so the
 * work is linear in the bytes however finely they are cut.
 * @internal
 */
export class EnvelopeReader {
  private readonly header = new Uint8Array(5)
  private headerSize = 0
  private pending: { readonly flags: number; readonly length: number; readonly data: ByteAccumulator } | undefined =
    undefined

  constructor(private readonly readMaxBytes: number) {}

  /** Whether part of an envelope has arrived and the rest has not. */
  get midMessage(): boolean {
    return this.headerSize > 0 || this.pending !== undefined
  }

  push(chunk: Uint8Array): Array<Envelope> {
    const out: Array<Envelope> = []
    let offset = 0
    while (offset < chunk.byteLength) {
      if (this.pending === undefined) {
        const wanted = Math.min(5 - this.headerSize, chunk.byteLength - offset)
        this.header.set(chunk.subarray(offset, offset + wanted), this.headerSize)
        this.headerSize += wanted
        offset += wanted
        if (this.headerSize < 5) return out
        this.headerSize = 0
        const length = new DataView(this.header.buffer).getUint32(1)
        if (length > this.readMaxBytes) throw envelopeTooLarge(length, this.readMaxBytes)
        if (length === 0 || chunk.byteLength - offset >= length) {
          out.push({ flags: this.header[0]!, data: chunk.subarray(offset, offset + length) })
          offset += length
          continue
        }
        this.pending = { flags: this.header[0]!, length, data: new ByteAccumulator(length) }
      }
      const pending = this.pending
      const wanted = Math.min(pending.length - pending.data.size, chunk.byteLength - offset)
      pending.data.append(chunk.subarray(offset, offset + wanted))
      offset += wanted
      if (pending.data.size < pending.length) return out
      out.push({ flags: pending.flags, data: pending.data.take() })
      this.pending = undefined
    }
    return out
  }

  finish(): void {
    if (this.pending !== undefined || this.headerSize > 0) {
      throw new ConnectError({
        code: "invalid_argument",
        message: this.pending === undefined
          ? `protocol error: incomplete envelope header (${this.headerSize} bytes)`
          : `protocol error: promised ${this.pending.length} bytes in enveloped message, got ${this.pending.data.size} bytes`
      })
    }
  }
}

/** The one envelope of a whole body (a server-streaming request), or why there is not one. @internal */
export const decodeSingleEnvelope = (bytes: Uint8Array, readMaxBytes: number): Envelope | ConnectError => {
  const reader = new EnvelopeReader(readMaxBytes)
  let envelopes: Array<Envelope>
  try {
    envelopes = reader.push(bytes)
    reader.finish()
  } catch (e) {
    return e as ConnectError
  }
  return envelopes.length === 1 ? envelopes[0]! : cardinalityError("request", envelopes.length)
}

/**
 * The envelopes of a byte stream. With `stallMs`, an envelope begun must be finished: a pause of
 * that long in its middle fails the stream (a pause between envelopes is the peer's to take).
 * @internal
 */
export const decodeEnvelopes = (readMaxBytes: number, stallMs?: number) =>
<E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Envelope, E | ConnectError, R> =>
  Stream.suspend(() => {
    const reader = new EnvelopeReader(readMaxBytes)
    const input = stallMs === undefined ? bytes : failWhenIdle(bytes, stallMs, () => reader.midMessage)
    return input.pipe(
      Stream.mapChunksEffect((chunks) => {
        try {
          const out: Array<Envelope> = []
          for (const chunk of chunks) {
            for (const envelope of reader.push(chunk)) out.push(envelope)
          }
          return Effect.succeed(Chunk.unsafeFromArray(out))
        } catch (e) {
          return Effect.fail(e as ConnectError)
        }
      }),
      Stream.concat(Stream.fromEffect(Effect.try({
        try: () => reader.finish(),
        catch: (e) => e as ConnectError
      })).pipe(Stream.drain))
    )
  })
