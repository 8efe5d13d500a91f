/**
 * Compression negotiation shared by every protocol: picking the request's decoder from its
 * encoding header, and the response's encoder from the peer's accepted encodings.
 * @internal
 */
import type { Compression } from "../Compression.js"

/** @internal */
export const findCompression = (
  available: ReadonlyArray<Compression>,
  name: string | undefined
): Compression | undefined | null => {
  if (name === undefined || name === "" || name === "identity") return undefined
  for (const c of available) {
    if (c.name === name) return c
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
