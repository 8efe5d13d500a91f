/**
 * A gRPC call's status, as trailers (or the headers of a trailers-only response): `grpc-status`,
 * a percent-encoded `grpc-message`, and `grpc-status-details-bin`, a google.rpc.Status in base64
 * carrying the error's details.
 * @internal
 */
import { base64Decode, base64Encode, BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire"
import * as Headers from "@effect/platform/Headers"
import { fromNumber, toNumber } from "../code.js"
import { ConnectError, type ErrorDetail } from "../connectError.js"
import { headerMessage, headerStatus, headerStatusDetails, statusHeaders } from "./protocol.js"

const typeUrlPrefix = "type.googleapis.com/"
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** Percent-encodes what is not printable ASCII (and `%` itself), as UTF-8 bytes. @internal */
export const encodeMessage = (message: string): string => {
  let out = ""
  for (const byte of textEncoder.encode(message)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

/** Undoes `encodeMessage`; a `%` that starts no valid escape is kept as it is, as the spec asks. @internal */
export const decodeMessage = (value: string): string => {
  if (!value.includes("%")) return value
  const bytes: Array<number> = []
  for (let i = 0; i < value.length; i++) {
    const hex = value.charCodeAt(i) === 0x25 ? value.slice(i + 1, i + 3) : ""
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16))
      i += 2
    } else {
      bytes.push(...textEncoder.encode(value[i]!))
    }
  }
  return textDecoder.decode(new Uint8Array(bytes))
}

const encodeStatus = (error: ConnectError): Uint8Array => {
  const writer = new BinaryWriter()
  writer.tag(1, WireType.Varint).int32(toNumber(error.code))
  if (error.message !== "") writer.tag(2, WireType.LengthDelimited).string(error.message)
  for (const detail of error.details) {
    const any = new BinaryWriter()
      .tag(1, WireType.LengthDelimited).string(typeUrlPrefix + detail.type)
      .tag(2, WireType.LengthDelimited).bytes(detail.value)
      .finish()
    writer.tag(3, WireType.LengthDelimited).bytes(any)
  }
  return writer.finish()
}

const decodeAny = (bytes: Uint8Array): ErrorDetail => {
  const reader = new BinaryReader(bytes)
  let type = ""
  let value: Uint8Array = new Uint8Array(0)
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag()
    if (field === 1 && wireType === WireType.LengthDelimited) type = reader.string()
    else if (field === 2 && wireType === WireType.LengthDelimited) value = reader.bytes()
    else reader.skip(wireType, field)
  }
  return { type: type.slice(type.lastIndexOf("/") + 1), value }
}

/** The details of a google.rpc.Status; throws on bytes that are not one. */
const decodeStatusDetails = (bytes: Uint8Array): Array<ErrorDetail> => {
  const reader = new BinaryReader(bytes)
  const details: Array<ErrorDetail> = []
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag()
    if (field === 3 && wireType === WireType.LengthDelimited) details.push(decodeAny(reader.bytes()))
    else reader.skip(wireType, field)
  }
  return details
}

/**
 * The status fields of `error` (or of success), to send as trailers (or as the headers of a
 * trailers-only response), after `metadata`, whose own status fields are left out.
 * @internal
 */
export const statusToHeaders = (
  error: ConnectError | undefined,
  metadata: Record<string, string> = {}
): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name in metadata) if (!statusHeaders.has(name)) out[name] = metadata[name]!
  if (error === undefined) {
    out[headerStatus] = "0"
    return out
  }
  for (const name in error.metadata) if (!statusHeaders.has(name)) out[name] = error.metadata[name]!
  out[headerStatus] = String(toNumber(error.code))
  if (error.message !== "") out[headerMessage] = encodeMessage(error.message)
  if (error.details.length > 0) out[headerStatusDetails] = base64Encode(encodeStatus(error), "std_raw")
  return out
}

/**
 * The status in `fields` (trailers, or the headers of a trailers-only response): undefined for
 * OK, the error otherwise, with `metadata` attached; `undefined`-valued `grpc-status` is the
 * caller's to judge (a missing status is a protocol error).
 * @internal
 */
export const statusFromHeaders = (
  fields: Headers.Headers,
  metadata: Headers.Headers
): ConnectError | undefined => {
  const status = fields[headerStatus]!
  const number = /^\d+$/.test(status) ? Number(status) : NaN
  if (number === 0) return undefined
  const code = fromNumber(number) ?? "unknown"
  const message = decodeMessage(fields[headerMessage] ?? "")
  let details: Array<ErrorDetail> = []
  const detailsBin = fields[headerStatusDetails]
  if (detailsBin !== undefined) {
    try {
      details = decodeStatusDetails(base64Decode(detailsBin))
    } catch {
      // Details that do not decode are dropped; the status itself still stands.
    }
  }
  return new ConnectError({
    code,
    message: Number.isNaN(number) ? `protocol error: invalid grpc-status "${status}"` : message,
    details,
    metadata: Headers.unsafeFromRecord(withoutStatus(metadata))
  })
}

/** Headers without the status fields. @internal */
export const withoutStatus = (headers: Headers.Headers): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name in headers) if (!statusHeaders.has(name)) out[name] = headers[name]!
  return out
}
