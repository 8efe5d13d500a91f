/**
 * Compression negotiation shared by every protocol: picking the request's decoder from its
 * encoding header, and the response's encoder from the peer's accepted encodings.
 * @internal
 */
import type * as Effect from "effect/Effect"
import { ConnectError } from "./connectError.js"

/**
 * A compression algorithm, named as in `Content-Encoding`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Compression {
  /** Its name in `Content-Encoding` and the protocols' encoding headers, such as `gzip`. */
  readonly name: string
  /** Compresses one message. */
  readonly compress: (data: Uint8Array) => Effect.Effect<Uint8Array, ConnectError>
  /** Fails with resource_exhausted when the output would exceed `readMaxBytes`, invalid_argument on corrupt input. */
  readonly decompress: (data: Uint8Array, readMaxBytes: number) => Effect.Effect<Uint8Array, ConnectError>
}

/** The failure of a decompression whose output passes the reader's limit. @internal */
export const decompressedTooLarge = (readMaxBytes: number): ConnectError =>
  new ConnectError({
    code: "resource_exhausted",
    message: `decompressed message size is larger than configured readMaxBytes ${readMaxBytes}`
  })

/**
 * The compression named `name` (an encoding header's value), undefined for none or identity,
 * null for one we do not have. Content codings are case-insensitive (RFC 9110, 8.4.1): `GZIP`
 * is gzip.
 * @internal
 */
export const findCompression = (
  available: ReadonlyArray<Compression>,
  name: string | undefined
): Compression | undefined | null => {
  if (name === undefined) return undefined
  const wanted = name.trim().toLowerCase()
  if (wanted === "" || wanted === "identity") return undefined
  for (const c of available) {
    if (c.name === wanted) return c
  }
  return null
}

/** The first of the peer's accepted encodings (comma-separated, in preference order) that we have. @internal */
export const negotiateCompression = (
  available: ReadonlyArray<Compression>,
  accepted: string | undefined
): Compression | undefined => {
  if (accepted === undefined || available.length === 0) return undefined
  for (const raw of accepted.split(",")) {
    const name = raw.split(";")[0]!.trim()
    const found = findCompression(available, name)
    if (found) return found
  }
  return undefined
}

/** @internal */
export const acceptEncodingValue = (available: ReadonlyArray<Compression>): string =>
  available.map((c) => c.name).join(",")
