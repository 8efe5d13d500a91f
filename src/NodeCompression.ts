/**
 * Compression on node:zlib (Node only, from `connect-effect/node`): gzip and brotli, several
 * times faster than the Compression Streams gzip of the main entry, and zstd where node:zlib has
 * it (Node 22.15 or later). Node servers and transports accept all of them unless told otherwise.
 *
 * @since 0.2.0
 */
import * as Option from "effect/Option"
import type { Compression } from "./internal/compression.js"
import { zlibBrotli, zlibGzip, zlibZstd } from "./internal/node/zlib.js"

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
 * Zstandard (`zstd`) on node:zlib, at its default level (3), where this Node has it: Node 22.15
 * or later (and 23.8 or later). None on older Nodes.
 *
 * @example
 * ```ts
 * import { NodeCompression } from "connect-effect/node"
 * import { Option } from "effect"
 *
 * // zstd first where this Node has it, gzip everywhere.
 * export const sendCompression = Option.getOrElse(NodeCompression.zstd, () => NodeCompression.gzip)
 * ```
 *
 * @since 0.2.0
 * @category compressions
 */
export const zstd: Option.Option<Compression> = Option.fromNullable(zlibZstd)

/**
 * The compressions Node servers and transports accept unless told otherwise: gzip, brotli, and
 * zstd where this Node has it. A client offers them in this order, so a server that has gzip
 * answers with gzip.
 *
 * @since 0.2.0
 * @category compressions
 */
export const defaults: ReadonlyArray<Compression> = [gzip, brotli, ...Option.toArray(zstd)]
