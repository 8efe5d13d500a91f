/**
 * Whole zstd frames told from cut ones by their headers alone, on every Node (from frames made
 * once by node:zlib), and where this Node has zstd, for any message at any level: every strict
 * prefix of a compressed message is refused with invalid_argument, which Node 22's decoder does
 * not do by itself.
 */
import { describe, expect, it } from "@effect/vitest"
import { NodeCompression } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import fc from "fast-check"
import * as zlib from "node:zlib"
import { isWholeZstd } from "../src/internal/node/zstdFrames.js"

const hex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"))

const frames = {
  // Single segment with its content size, two blocks.
  text: hex("28b52ffd206c3d0100f07468652073616d652073656e74656e63652c20616761696e20616e642e2002007514c2142b4e"),
  // A content checksum after the blocks.
  checksummed: hex(
    "28b52ffd642c004d0800041000efdecdbcab9a897867564534231201f0dfcebdac9b8a7968574635241302f1e0cfbead9c8b7a69584736251403f2e1d0bfae9d8c7b6a594837261504f3e2d1c0af9e8d7c6b5a4938271605f4e3d2c1b09f8e7d6c5b4a39281706f5e4d3c2b1a08f7e6d5c4b3a291807f6e5d4c3b2a1907f6e5d4c3b2a1908f7e6d5c4b3a291806f5e4d3c2b1a09f8e7d6c5b4a39281705f4e3d2c1b0af9e8d7c6b5a4938271604f3e2d1c0bfae9d8c7b6a594837261503f2e1d0cfbead9c8b7a69584736251402f1e0dfcebdac9b8a7968574635241301f0efdecdbcab9a897867564534231200ffeeddccbbaa9988776655443322110ffeeddccbbaa9988776655443322110100000d986b0a79ebc9fe"
  ),
  // A window descriptor and no content size.
  windowed: hex("28b52ffd00006d00003868656c6c6f2c2001004a8a11"),
  empty: hex("28b52ffd2000010000"),
  skippable: hex("502a4d1803000000616263")
}

const concat = (...parts: ReadonlyArray<Uint8Array>) => Uint8Array.from(parts.flatMap((part) => [...part]))

describe("isWholeZstd", () => {
  it("takes whole frames, one or several, skippable ones among them", () => {
    for (const frame of Object.values(frames)) expect(isWholeZstd(frame)).toBe(true)
    expect(isWholeZstd(concat(frames.skippable, frames.text, frames.windowed, frames.checksummed))).toBe(true)
  })

  it("refuses every strict prefix of a frame, nothing, and bytes after the frames", () => {
    for (const frame of Object.values(frames)) {
      for (let length = 0; length < frame.byteLength; length++) expect(isWholeZstd(frame.subarray(0, length))).toBe(false)
    }
    expect(isWholeZstd(concat(frames.text, Uint8Array.of(0)))).toBe(false)
    expect(isWholeZstd(concat(frames.text, frames.windowed.subarray(0, 6)))).toBe(false)
    expect(isWholeZstd(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe(false)
  })
})

describe.runIf(Option.isSome(NodeCompression.zstd))("zstd on node:zlib", () => {
  const zstdLevel = (zlib.constants as Record<string, number>)["ZSTD_c_compressionLevel"]!
  const zstdChecksum = (zlib.constants as Record<string, number>)["ZSTD_c_checksumFlag"]!
  const compressSync = (zlib as unknown as { zstdCompressSync: (data: Uint8Array, options: object) => Buffer }).zstdCompressSync

  it("refuses every cut of any message, at any level, with invalid_argument", () => {
    const zstd = Option.getOrThrow(NodeCompression.zstd)
    return fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300_000 }),
        fc.integer({ min: 1, max: 19 }),
        fc.boolean(),
        fc.nat(),
        async (message, level, checksum, cut) => {
          const packed = compressSync(message, { params: { [zstdLevel]: level, [zstdChecksum]: checksum ? 1 : 0 } })
          expect(isWholeZstd(packed)).toBe(true)
          const cutShort = packed.subarray(0, cut % packed.byteLength)
          const error = await Effect.runPromise(Effect.flip(zstd.decompress(cutShort, 1 << 20)))
          expect(error.code).toBe("invalid_argument")
        }
      ),
      { numRuns: 60 }
    )
  })
})
