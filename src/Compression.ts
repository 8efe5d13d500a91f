/**
 * Message compression: gzip and brotli from node:zlib, with decompression bounded by the
 * reader's size limit so that a small compressed payload cannot expand without bound.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { kMaxLength } from "node:buffer"
import * as zlib from "node:zlib"
import { ConnectError } from "./ConnectError.js"

/**
 * A compression algorithm, named as in `Content-Encoding`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Compression {
  readonly name: string
  readonly compress: (data: Uint8Array) => Effect.Effect<Uint8Array, ConnectError>
  /** Fails with resource_exhausted when the output would exceed `readMaxBytes`, invalid_argument on corrupt input. */
  readonly decompress: (data: Uint8Array, readMaxBytes: number) => Effect.Effect<Uint8Array, ConnectError>
}

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
          resume(Effect.fail(
            new ConnectError({
              code: "resource_exhausted",
              message: `decompressed message size is larger than configured readMaxBytes ${readMaxBytes}`
            })
          ))
        } else {
          resume(Effect.fail(
            new ConnectError({ code: "invalid_argument", message: `invalid ${name} data: ${error.message}`, cause: error })
          ))
        }
      })
    })
})

/**
 * gzip, the one compression every Connect and gRPC peer supports.
 *
 * @since 0.1.0
 * @category compressions
 */
export const gzip: Compression = fromZlib("gzip", zlib.gzip as ZlibFn, zlib.gunzip as ZlibFn, {})

/**
 * Brotli (`br`).
 *
 * @since 0.1.0
 * @category compressions
 */
export const brotli: Compression = fromZlib(
  "br",
  zlib.brotliCompress as ZlibFn,
  zlib.brotliDecompress as ZlibFn,
  // Quality 11 (the default) costs tens of milliseconds per message; 5 is the usual on-line choice.
  { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }
)

/**
 * The compressions clients and servers accept unless told otherwise.
 *
 * @since 0.1.0
 * @category compressions
 */
export const defaults: ReadonlyArray<Compression> = [gzip, brotli]
