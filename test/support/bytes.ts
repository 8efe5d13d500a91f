/**
 * Byte helpers shared by the interop tests and the test service.
 */
import { expect } from "@effect/vitest"
import * as zlib from "node:zlib"

/** The payload of message `index` of a server stream: `size` bytes of `index % 256`. */
export const payloadOf = (size: number, index: number) => new Uint8Array(size).fill(index % 256)

/** Bytes that compress well. */
export const repetitive = (size: number) => new Uint8Array(size).map((_, i) => i % 7)

/** The synchronous decompressor of a Connect encoding name. */
export const decompressorOf = (name: string) => (name === "gzip" ? zlib.gunzipSync : zlib.brotliDecompressSync)

/** Bytes fields may come as Buffers (views of what was read): compares contents only. */
export const expectBytes = (actual: ReadonlyArray<Uint8Array>, expected: ReadonlyArray<Uint8Array>) => {
  const view = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)
  expect(actual.map((a) => a.byteLength)).toEqual(expected.map((e) => e.byteLength))
  actual.forEach((a, i) => expect(view(a).equals(view(expected[i]!)), `bytes of message ${i} differ`).toBe(true))
}
