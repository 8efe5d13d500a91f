/**
 * Compression on node:zlib (Node only, from `connect-effect/node`): gzip and brotli, several
 * times faster than the Compression Streams gzip of the main entry. Node servers and transports
 * accept both unless told otherwise.
 *
 * @since 0.2.0
 */
import type { Compression } from "./internal/compression.js"
import { zlibBrotli, zlibGzip } from "./internal/node/zlib.js"

/**
 * gzip on node:zlib.
 *
 * @since 0.2.0
 * @category compressions
 */
export const gzip: Compression = zlibGzip

/**
 * Brotli (`br`) on node:zlib, at quality 5.
 *
 * @since 0.2.0
 * @category compressions
 */
export const brotli: Compression = zlibBrotli

/**
 * The compressions Node servers and transports accept unless told otherwise.
 *
 * @since 0.2.0
 * @category compressions
 */
export const defaults: ReadonlyArray<Compression> = [gzip, brotli]
