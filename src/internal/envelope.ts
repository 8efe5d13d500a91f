/**
 * Length-prefixed message framing shared by Connect streaming, gRPC and gRPC-Web:
 * one flags byte, a 4-byte big-endian length, then the payload.
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConnectError } from "../ConnectError.js"
import { cardinalityError } from "./exactlyOne.js"

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

/**
 * Splits a byte stream into envelopes. A length prefix above `readMaxBytes` fails with
 * resource_exhausted before anything is allocated for it; bytes left over at the end of the
 * input fail with invalid_argument (a truncated envelope).
 * @internal
 */
export class EnvelopeReader {
  private chunks: Array<Uint8Array> = []
  private buffered = 0
  private pending: { flags: number; length: number } | undefined = undefined

  constructor(private readonly readMaxBytes: number) {}

  push(chunk: Uint8Array): Array<Envelope> {
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk)
      this.buffered += chunk.byteLength
    }
    const out: Array<Envelope> = []
    for (;;) {
      if (this.pending === undefined) {
        if (this.buffered < 5) return out
        const header = this.take(5)
        const length = new DataView(header.buffer, header.byteOffset, 5).getUint32(1)
        if (length > this.readMaxBytes) {
          throw new ConnectError({
            code: "resource_exhausted",
            message: `message size ${length} is larger than configured readMaxBytes ${this.readMaxBytes}`
          })
        }
        this.pending = { flags: header[0]!, length }
      }
      if (this.buffered < this.pending.length) return out
      out.push({ flags: this.pending.flags, data: this.take(this.pending.length) })
      this.pending = undefined
    }
  }

  finish(): void {
    if (this.pending !== undefined || this.buffered > 0) {
      throw new ConnectError({
        code: "invalid_argument",
        message: this.pending === undefined
          ? `protocol error: incomplete envelope header (${this.buffered} bytes)`
          : `protocol error: promised ${this.pending.length} bytes in enveloped message, got ${this.buffered} bytes`
      })
    }
  }

  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0) // a zero-length message: there may be no chunk to slice
    const first = this.chunks[0]!
    if (first.byteLength >= n) {
      const taken = first.subarray(0, n)
      if (first.byteLength === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      this.buffered -= n
      return taken
    }
    const taken = new Uint8Array(n)
    let offset = 0
    while (offset < n) {
      const chunk = this.chunks[0]!
      const wanted = n - offset
      if (chunk.byteLength <= wanted) {
        taken.set(chunk, offset)
        offset += chunk.byteLength
        this.chunks.shift()
      } else {
        taken.set(chunk.subarray(0, wanted), offset)
        this.chunks[0] = chunk.subarray(wanted)
        offset = n
      }
    }
    this.buffered -= n
    return taken
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

/** @internal */
export const decodeEnvelopes = (readMaxBytes: number) =>
<E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Envelope, E | ConnectError, R> =>
  Stream.suspend(() => {
    const reader = new EnvelopeReader(readMaxBytes)
    return bytes.pipe(
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
