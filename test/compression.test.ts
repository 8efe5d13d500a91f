/**
 * Both gzips (the main entry's on Compression Streams, connect-effect/node's on node:zlib) read
 * each other's output; every compression (and zstd where this Node has it) stops a bomb at the
 * reader's limit and refuses corrupt input.
 */
import { describe, expect, it } from "@effect/vitest"
import { Compression } from "connect-effect"
import { NodeCompression } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as zlib from "node:zlib"

const compressions = [Compression.gzip, NodeCompression.gzip, NodeCompression.brotli, ...Option.toArray(NodeCompression.zstd)]
const text = new TextEncoder().encode("the same sentence, again and again. ".repeat(2000))

describe.each(compressions.map((c, i) => [i === 0 ? "web gzip" : `node ${c.name}`, c] as const))("%s", (_, compression) => {
  it.effect("round-trips, and an empty message too", () =>
    Effect.gen(function*() {
      const packed = yield* compression.compress(text)
      expect(packed.byteLength).toBeLessThan(text.byteLength / 10)
      expect(yield* compression.decompress(packed, text.byteLength)).toEqual(text)
      expect(yield* compression.decompress(yield* compression.compress(new Uint8Array(0)), 10)).toEqual(new Uint8Array(0))
    }))

  it.effect("stops a bomb at the limit with resource_exhausted", () =>
    Effect.gen(function*() {
      const bomb = yield* compression.compress(new Uint8Array(64 * 1024 * 1024))
      const error = yield* Effect.flip(compression.decompress(bomb, 1024 * 1024))
      expect(error.code).toBe("resource_exhausted")
      expect(error.message).toContain("readMaxBytes 1048576")
    }))

  it.effect("refuses corrupt input with invalid_argument", () =>
    Effect.gen(function*() {
      const packed = yield* compression.compress(text)
      const error = yield* Effect.flip(compression.decompress(packed.subarray(0, packed.byteLength / 2), text.byteLength))
      expect(error.code).toBe("invalid_argument")
      const garbage = yield* Effect.flip(compression.decompress(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 100))
      expect(garbage.code).toBe("invalid_argument")
    }))
})

it.effect("the web gzip reads node:zlib's gzip and the other way round", () =>
  Effect.gen(function*() {
    expect(yield* Compression.gzip.decompress(zlib.gzipSync(text), text.byteLength)).toEqual(text)
    expect(yield* NodeCompression.gzip.decompress(yield* Compression.gzip.compress(text), text.byteLength)).toEqual(text)
  }))

it("zstd is there, and accepted by default, exactly where node:zlib has it (Node 22.15 on)", () => {
  const nodeHasZstd = "zstdCompress" in zlib
  expect(Option.isSome(NodeCompression.zstd)).toBe(nodeHasZstd)
  expect(NodeCompression.defaults.map((c) => c.name)).toEqual(nodeHasZstd ? ["gzip", "br", "zstd"] : ["gzip", "br"])
})
