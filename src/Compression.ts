/**
 * Message compression. This module runs everywhere (browsers, Deno, Bun, edge runtimes, Node):
 * its gzip is the platform's Compression Streams API. On Node, `NodeCompression` from
 * `connect-effect/node` has faster gzip and brotli on node:zlib, and Node servers and transports
 * use those by default.
 *
 * @since 0.1.0
 */
import type { Compression } from "./internal/compression.js"
import { webCompression } from "./internal/webCompression.js"

export type {
  /**
   * A compression algorithm, named as in `Content-Encoding`.
   *
   * @since 0.1.0
   * @category models
   */
  Compression
}

/**
 * gzip, the one compression every Connect and gRPC peer supports, on the Compression Streams
 * API; decompression stops at the reader's size limit.
 *
 * @since 0.1.0
 * @category compressions
 */
export const gzip: Compression = webCompression("gzip", "gzip")

/**
 * The compressions the platform-neutral transports accept unless told otherwise: gzip.
 *
 * @since 0.1.0
 * @category compressions
 */
export const defaults: ReadonlyArray<Compression> = [gzip]
