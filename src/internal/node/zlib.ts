/**
 * gzip, brotli and (where node:zlib has it) zstd on node:zlib, with decompression bounded by the
 * reader's size limit so that a small compressed payload cannot expand without bound.
 * @internal
 */
import * as Effect from "effect/Effect"
import { kMaxLength } from "node:buffer"
import * as zlib from "node:zlib"
import { type Compression, decompressedTooLarge } from "../compression.js"
import { ConnectError } from "../connectError.js"
import { isWholeZstd } from "./zstdFrames.js"

type ZlibFn = (buf: Uint8Array, options: zlib.ZlibOptions & zlib.BrotliOptions, cb: (e: Error | null, r: Buffer) => void) => void

// zlib rejects a maxOutputLength above the largest Buffer.
const outputLimit = (readMaxBytes: number) => Math.min(readMaxBytes, kMaxLength)

const fromZlib = (
  name: string,
  compress: ZlibFn,
  decompress: ZlibFn,
  compressOptions: zlib.ZlibOptions & zlib.BrotliOptions
): Compression => ({
  name,
  compress: (data) =>
    Effect.async<Uint8Array, ConnectError>((resume) => {
      compress(data, compressOptions, (error, result) => {
        resume(
          error === null
            ? Effect.succeed(new Uint8Array(result.buffer, result.byteOffset, result.byteLength))
            : Effect.fail(new ConnectError({ code: "internal", message: `${name} compression failed`, cause: error }))
        )
      })
    }),
  decompress: (data, readMaxBytes) =>
    Effect.async<Uint8Array, ConnectError>((resume) => {
      decompress(data, { maxOutputLength: outputLimit(readMaxBytes) }, (error, result) => {
        if (error === null) {
          resume(Effect.succeed(new Uint8Array(result.buffer, result.byteOffset, result.byteLength)))
        } else if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
          resume(Effect.fail(decompressedTooLarge(readMaxBytes)))
        } else {
          resume(Effect.fail(
            new ConnectError({ code: "invalid_argument", message: `invalid ${name} data: ${error.message}`, cause: error })
          ))
        }
      })
    })
})

/** @internal */
export const zlibGzip: Compression = fromZlib("gzip", zlib.gzip as ZlibFn, zlib.gunzip as ZlibFn, {})

/** @internal */
export const zlibBrotli: Compression = fromZlib(
  "br",
  zlib.brotliCompress as ZlibFn,
  zlib.brotliDecompress as ZlibFn,
  // Quality 11 (the default) costs tens of milliseconds per message; 5 is the usual on-line choice.
  { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }
)

/** node:zlib's zstd: Node 22.15 and 23.8 on. @types/node 20 does not know it. */
const { zstdCompress, zstdDecompress } = zlib as unknown as { zstdCompress?: ZlibFn; zstdDecompress?: ZlibFn }

/** @internal */
export const zlibZstd: Compression | undefined = zstdCompress === undefined || zstdDecompress === undefined
  ? undefined
  : fromZlib(
    "zstd",
    zstdCompress,
    (data, options, cb) =>
      isWholeZstd(data)
        ? zstdDecompress(data, options, cb)
        : cb(new Error("the data is not whole zstd frames (cut short, or followed by other bytes)"), Buffer.alloc(0)),
    // zstd's default level, 3: fast enough for messages on line.
    {}
  )
