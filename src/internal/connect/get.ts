/**
 * Connect GET: a unary request of a side-effect-free method carried in the query string,
 * so that it can be cached.
 * @internal
 */
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire"
import { ConnectError } from "../connectError.js"

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** The query string (without `?`) of a GET request. @internal */
export const encodeGetQuery = (message: Uint8Array, json: boolean, compression: string | undefined): string => {
  const base64 = !json || compression !== undefined
  let query = `connect=v1&encoding=${json ? "json" : "proto"}`
  if (base64) query += "&base64=1"
  if (compression !== undefined) query += `&compression=${encodeURIComponent(compression)}`
  const value = base64 ? base64Encode(message, "url") : encodeURIComponent(textDecoder.decode(message))
  return `${query}&message=${value}`
}

/** @internal */
export interface GetRequest {
  readonly json: boolean
  readonly compression: string | undefined
  readonly message: Uint8Array
}

/** @internal */
export const decodeGetQuery = (search: string): GetRequest | ConnectError => {
  const params = new URLSearchParams(search)
  const connect = params.get("connect")
  if (connect !== null && connect !== "v1") {
    return new ConnectError({ code: "invalid_argument", message: `connect must be "v1": got "${connect}"` })
  }
  const encoding = params.get("encoding")
  if (encoding !== "json" && encoding !== "proto") {
    return new ConnectError({ code: "invalid_argument", message: `encoding must be "json" or "proto": got "${encoding ?? ""}"` })
  }
  const raw = params.get("message") ?? ""
  let message: Uint8Array
  if (params.get("base64") === "1") {
    try {
      message = base64Decode(raw)
    } catch (e) {
      return new ConnectError({ code: "invalid_argument", message: "invalid base64 in message parameter", cause: e })
    }
  } else {
    message = textEncoder.encode(raw)
  }
  return { json: encoding === "json", compression: params.get("compression") ?? undefined, message }
}
