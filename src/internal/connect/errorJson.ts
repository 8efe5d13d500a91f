/**
 * The Connect JSON error body (unary responses) and end-of-stream message (streams).
 * @internal
 */
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire"
import * as Headers from "@effect/platform/Headers"
import { type Code, isCode } from "../code.js"
import { ConnectError, type ErrorDetail } from "../connectError.js"

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** The JSON object a Connect peer expects for an error. @internal */
export const errorToJson = (error: ConnectError) => {
  const json: { code: Code; message?: string; details?: Array<{ type: string; value: string; debug?: unknown }> } = {
    code: error.code
  }
  if (error.message !== "") json.message = error.message
  if (error.details.length > 0) {
    json.details = error.details.map((d) => ({
      type: d.type,
      value: base64Encode(d.value, "std_raw"),
      ...(d.debug === undefined ? {} : { debug: d.debug })
    }))
  }
  return json
}

/** @internal */
export const errorToJsonBytes = (error: ConnectError): Uint8Array =>
  textEncoder.encode(JSON.stringify(errorToJson(error)))

const isObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const parseDetails = (value: unknown): Array<ErrorDetail> => {
  if (!Array.isArray(value)) return []
  const details: Array<ErrorDetail> = []
  for (const d of value) {
    if (!isObject(d) || typeof d.type !== "string" || typeof d.value !== "string") continue
    try {
      details.push({ type: d.type, value: base64Decode(d.value), ...(d.debug === undefined ? {} : { debug: d.debug }) })
    } catch {
      // A detail that does not decode is dropped; the error itself still stands.
    }
  }
  return details
}

/**
 * Reads a Connect error object. Returns undefined for anything that is not one, so the
 * caller can fall back to the HTTP status.
 * @internal
 */
export const errorFromJson = (
  json: unknown,
  metadata: Headers.Headers,
  fallbackCode?: Code
): ConnectError | undefined => {
  if (!isObject(json)) return undefined
  const code = isCode(json.code) ? json.code : fallbackCode
  if (code === undefined) return undefined
  return new ConnectError({
    code,
    message: typeof json.message === "string" ? json.message : "",
    details: parseDetails(json.details),
    metadata
  })
}

/** @internal */
export const errorFromJsonBytes = (
  bytes: Uint8Array,
  metadata: Headers.Headers,
  fallbackCode?: Code
): ConnectError | undefined => {
  try {
    return errorFromJson(JSON.parse(textDecoder.decode(bytes)), metadata, fallbackCode)
  } catch {
    return undefined
  }
}

/** Trailers as the end-stream message's `metadata`: each name maps to a list of values. @internal */
export const endStreamToJsonBytes = (trailers: Headers.Headers, error: ConnectError | undefined): Uint8Array => {
  const json: { error?: ReturnType<typeof errorToJson>; metadata?: Record<string, Array<string>> } = {}
  if (error !== undefined) json.error = errorToJson(error)
  const metadata = { ...trailers, ...error?.metadata }
  const names = Object.keys(metadata)
  if (names.length > 0) {
    json.metadata = {}
    for (const name of names) json.metadata[name] = [metadata[name]!]
  }
  return textEncoder.encode(JSON.stringify(json))
}

/** @internal */
export interface EndStream {
  readonly trailers: Headers.Headers
  readonly error: ConnectError | undefined
}

/** @internal */
export const endStreamFromJsonBytes = (bytes: Uint8Array): EndStream => {
  let json: unknown
  try {
    json = JSON.parse(textDecoder.decode(bytes))
  } catch (e) {
    throw new ConnectError({ code: "unknown", message: "protocol error: invalid end stream message", cause: e })
  }
  if (!isObject(json)) {
    throw new ConnectError({ code: "unknown", message: "protocol error: invalid end stream message" })
  }
  const entries: Array<[string, string]> = []
  if (json.metadata !== undefined) {
    if (!isObject(json.metadata)) {
      throw new ConnectError({ code: "unknown", message: "protocol error: invalid end stream metadata" })
    }
    for (const [name, values] of Object.entries(json.metadata)) {
      if (!Array.isArray(values) || !values.every((v) => typeof v === "string")) {
        throw new ConnectError({ code: "unknown", message: "protocol error: invalid end stream metadata" })
      }
      entries.push([name, values.join(", ")])
    }
  }
  const trailers = Headers.fromInput(entries)
  if (json.error === undefined || json.error === null) return { trailers, error: undefined }
  const error = errorFromJson(json.error, trailers, "unknown")
  if (error === undefined) {
    throw new ConnectError({ code: "unknown", message: "protocol error: invalid end stream error" })
  }
  return { trailers, error }
}
