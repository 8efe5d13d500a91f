/**
 * Property tests of the envelope framing (flags byte, 4-byte big-endian length, payload):
 * whatever the chunking, what is encoded decodes back; truncation and oversized length
 * prefixes fail with the right code, the latter before the promised bytes arrive.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import fc from "fast-check"
import { ConnectError } from "connect-effect"
import { concatBytes } from "../src/internal/bytes.js"
import { decodeEnvelopes, encodeEnvelope, type Envelope, EnvelopeReader } from "../src/internal/envelope.js"

const envelopeArb = fc.record({
  flags: fc.integer({ min: 0, max: 255 }),
  data: fc.uint8Array({ maxLength: 300 })
})

/** Splits `bytes` at the given cut points (any values; reduced modulo the length, sorted). */
const split = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => bytes.byteLength === 0 ? 0 : c % (bytes.byteLength + 1)))].sort((a, b) =>
    a - b
  )
  const chunks: Array<Uint8Array> = []
  let last = 0
  for (const p of points) {
    chunks.push(bytes.subarray(last, p)) // empty chunks included on purpose
    last = p
  }
  chunks.push(bytes.subarray(last))
  return chunks
}

const plain = (envelopes: ReadonlyArray<Envelope>) => envelopes.map((e) => ({ flags: e.flags, data: Array.from(e.data) }))

const readAll = (chunks: ReadonlyArray<Uint8Array>, readMaxBytes: number): Array<Envelope> => {
  const reader = new EnvelopeReader(readMaxBytes)
  const out: Array<Envelope> = []
  for (const chunk of chunks) out.push(...reader.push(chunk))
  reader.finish()
  return out
}

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

const expectCode = (u: unknown, code: string) => {
  expect(ConnectError.isConnectError(u), `expected a ConnectError, got ${String(u)}`).toBe(true)
  expect((u as ConnectError.ConnectError).code).toBe(code)
}

const decodeStream = (chunks: ReadonlyArray<Uint8Array>, readMaxBytes: number) =>
  Stream.fromIterable(chunks).pipe(
    // one chunk per element, so that the reader sees the cuts as they are
    Stream.rechunk(1),
    decodeEnvelopes(readMaxBytes),
    Stream.runCollect,
    Effect.map(Chunk.toArray)
  )

const property = <Ts extends [unknown, ...Array<unknown>]>(
  arbs: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (...args: Ts) => Promise<void> | void,
  numRuns = 200
) => Effect.promise(() => fc.assert(fc.asyncProperty(...arbs, async (...args: Ts) => predicate(...args)), { numRuns }))

describe("envelope framing", () => {
  it.effect("encodeEnvelope writes flags, a big-endian length and the payload", () =>
    Effect.sync(() => {
      const bytes = encodeEnvelope(0b10, new Uint8Array([7, 8, 9]))
      expect(Array.from(bytes)).toEqual([2, 0, 0, 0, 3, 7, 8, 9])
      expect(Array.from(encodeEnvelope(1, new Uint8Array(0x0102)).subarray(0, 5))).toEqual([1, 0, 0, 1, 2])
    }))

  it.effect("any envelopes, split into any chunks, decode back identically (EnvelopeReader)", () =>
    property([fc.array(envelopeArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 })], (envelopes, cuts) => {
      const bytes = concatBytes(envelopes.map((e) => encodeEnvelope(e.flags, e.data)))
      expect(plain(readAll(split(bytes, cuts), 300))).toEqual(plain(envelopes))
    }, 500))

  it.effect("any envelopes, split into any chunks, decode back identically (decodeEnvelopes)", () =>
    property([fc.array(envelopeArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 })], async (envelopes, cuts) => {
      const bytes = concatBytes(envelopes.map((e) => encodeEnvelope(e.flags, e.data)))
      const decoded = await Effect.runPromise(decodeStream(split(bytes, cuts), 300))
      expect(plain(decoded)).toEqual(plain(envelopes))
    }))

  it.effect("one byte at a time decodes the same as all at once", () =>
    property([fc.array(envelopeArb, { minLength: 1, maxLength: 5 })], (envelopes) => {
      const bytes = concatBytes(envelopes.map((e) => encodeEnvelope(e.flags, e.data)))
      const oneByOne = Array.from(bytes, (b) => new Uint8Array([b]))
      expect(plain(readAll(oneByOne, 300))).toEqual(plain(readAll([bytes], 300)))
    }, 100))

  it.effect("a payload of exactly readMaxBytes is accepted, one byte more is resource_exhausted", () =>
    property([fc.integer({ min: 0, max: 2000 })], (max) => {
      expect(readAll([encodeEnvelope(0, new Uint8Array(max))], max)[0]!.data.byteLength).toBe(max)
      expectCode(thrown(() => readAll([encodeEnvelope(0, new Uint8Array(max + 1))], max)), "resource_exhausted")
    }, 50))

  it.effect("truncated input fails with invalid_argument, after the complete envelopes", () =>
    property(
      [fc.array(envelopeArb, { minLength: 1, maxLength: 8 }), fc.nat(), fc.array(fc.nat(), { maxLength: 10 })],
      async (envelopes, cut, cuts) => {
        const encoded = envelopes.map((e) => encodeEnvelope(e.flags, e.data))
        const bytes = concatBytes(encoded)
        // A strict prefix that does not end on an envelope boundary.
        const boundaries = new Set<number>([0])
        let at = 0
        for (const e of encoded) boundaries.add(at += e.byteLength)
        const length = cut % bytes.byteLength
        fc.pre(!boundaries.has(length))
        const prefix = bytes.subarray(0, length)
        const complete = [...boundaries].filter((b) => b > 0 && b <= length).length

        const reader = new EnvelopeReader(300)
        const out: Array<Envelope> = []
        for (const chunk of split(prefix, cuts)) out.push(...reader.push(chunk))
        expect(plain(out)).toEqual(plain(envelopes.slice(0, complete)))
        expectCode(thrown(() => reader.finish()), "invalid_argument")

        const result = await Effect.runPromise(Effect.either(decodeStream(split(prefix, cuts), 300)))
        expect(Either.isLeft(result)).toBe(true)
        expectCode(Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : undefined), "invalid_argument")
      }
    ))

  it.effect("a length prefix above readMaxBytes fails from the header alone", () =>
    property(
      [fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 1, max: 0xFFFFFFFF }), fc.integer({ min: 0, max: 255 })],
      (max, over, flags) => {
        const length = Math.min(0xFFFFFFFF, max + over)
        const header = new Uint8Array(5)
        header[0] = flags
        new DataView(header.buffer).setUint32(1, length)
        const reader = new EnvelopeReader(max)
        // Header in two pieces: nothing before the fifth byte, resource_exhausted on it.
        expect(reader.push(header.subarray(0, 4))).toEqual([])
        expectCode(thrown(() => reader.push(header.subarray(4))), "resource_exhausted")
      },
      300
    ))

  it.live("a 4 GiB length prefix fails with resource_exhausted without waiting for the body", () =>
    Effect.gen(function*() {
      const header = new Uint8Array([0, 0xFF, 0xFF, 0xFF, 0xFF])
      // The peer sends the header and then nothing, forever.
      const error = yield* Stream.concat(Stream.make(header), Stream.never).pipe(
        decodeEnvelopes(4 * 1024 * 1024),
        Stream.runDrain,
        Effect.flip,
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("decodeEnvelopes waited for the body") })
      )
      expectCode(error, "resource_exhausted")
      expect(error.message).toContain("4294967295")
    }))

  it.effect("a valid envelope followed by a partial header is invalid_argument, and the envelope is delivered", () =>
    Effect.gen(function*() {
      const first = encodeEnvelope(0, new Uint8Array([1, 2, 3]))
      const seen: Array<Envelope> = []
      const error = yield* Stream.make(concatBytes([first, new Uint8Array([0, 0])])).pipe(
        decodeEnvelopes(100),
        Stream.tap((e) => Effect.sync(() => seen.push(e))),
        Stream.runDrain,
        Effect.flip
      )
      expectCode(error, "invalid_argument")
      expect(plain(seen)).toEqual([{ flags: 0, data: [1, 2, 3] }])
    }))

  it.effect("a zero-length message ending the input decodes (an empty protobuf message is 0 bytes)", () =>
    Effect.gen(function*() {
      expect(plain(readAll([encodeEnvelope(0, new Uint8Array(0))], 10))).toEqual([{ flags: 0, data: [] }])
      const decoded = yield* decodeStream([encodeEnvelope(0, new Uint8Array(0)), encodeEnvelope(2, new Uint8Array(0))], 10)
      expect(plain(decoded)).toEqual([{ flags: 0, data: [] }, { flags: 2, data: [] }])
    }))

  it.effect("empty input decodes to no envelopes", () =>
    Effect.gen(function*() {
      expect(yield* decodeStream([], 10)).toEqual([])
      expect(yield* decodeStream([new Uint8Array(0), new Uint8Array(0)], 10)).toEqual([])
    }))
})
