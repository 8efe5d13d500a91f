/**
 * gRPC-Web's trailers: an HTTP/1-style header block (`name: value\r\n` lines) in the body's last
 * envelope, flagged 0x80, so that no HTTP trailers are needed.
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import { ConnectError } from "../connectError.js"

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** @internal */
export const encodeWebTrailers = (trailers: Record<string, string>): Uint8Array => {
  let block = ""
  for (const name in trailers) block += `${name}: ${trailers[name]}\r\n`
  return textEncoder.encode(block)
}

/** Fails with internal on a line that is not `name: value`. @internal */
export const decodeWebTrailers = (bytes: Uint8Array): Headers.Headers | ConnectError => {
  const out: Record<string, string> = {}
  for (const line of textDecoder.decode(bytes).split("\r\n")) {
    if (line === "") continue
    const colon = line.indexOf(":")
    if (colon <= 0) {
      return new ConnectError({ code: "internal", message: `protocol error: invalid grpc-web trailer line "${line.slice(0, 100)}"` })
    }
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`
  }
  return Headers.unsafeFromRecord(out)
}
