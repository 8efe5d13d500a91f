/**
 * Connect protocol constants and the header values both sides read and write.
 * @internal
 */
import { ConnectError } from "../connectError.js"

/** @internal */
export const headerContentType = "content-type"
/** @internal */
export const headerUnaryEncoding = "content-encoding"
/** @internal */
export const headerUnaryAcceptEncoding = "accept-encoding"
/** @internal */
export const headerStreamEncoding = "connect-content-encoding"
/** @internal */
export const headerStreamAcceptEncoding = "connect-accept-encoding"
/** @internal */
export const headerTimeout = "connect-timeout-ms"
/** @internal */
export const headerProtocolVersion = "connect-protocol-version"
/** @internal */
export const headerUserAgent = "user-agent"
/** @internal */
export const trailerPrefix = "trailer-"
/** @internal */
export const protocolVersion = "1"
/** @internal */
export const userAgent = "connect-effect/0.1.0"

/** @internal */
export const contentTypeUnaryProto = "application/proto"
/** @internal */
export const contentTypeUnaryJson = "application/json"
/** @internal */
export const contentTypeStreamProto = "application/connect+proto"
/** @internal */
export const contentTypeStreamJson = "application/connect+json"

const contentTypeRegExp = /^application\/(connect\+)?(?:(json)(?:;\s*charset=utf-?8)?|(proto))$/i

/** @internal */
export interface ParsedContentType {
  readonly stream: boolean
  readonly json: boolean
}

/** @internal */
export const parseContentType = (value: string | undefined): ParsedContentType | undefined => {
  if (value === undefined) return undefined
  const match = contentTypeRegExp.exec(value.trim())
  if (match === null) return undefined
  return { stream: match[1] !== undefined, json: match[2] !== undefined }
}

/** @internal */
export const contentType = (stream: boolean, json: boolean): string =>
  stream
    ? json ? contentTypeStreamJson : contentTypeStreamProto
    : json
    ? contentTypeUnaryJson
    : contentTypeUnaryProto

const maxTimeoutDigits = 10

/** Parses `Connect-Timeout-Ms`: up to 10 ASCII digits. @internal */
export const parseTimeout = (value: string | undefined): number | undefined | ConnectError => {
  if (value === undefined) return undefined
  if (value.length === 0 || value.length > maxTimeoutDigits || !/^\d+$/.test(value)) {
    return new ConnectError({ code: "invalid_argument", message: `protocol error: invalid connect timeout value: ${value}` })
  }
  return Number(value)
}

/** The header value for a timeout: whole milliseconds, at most 10 digits. @internal */
export const encodeTimeout = (millis: number): string =>
  String(Math.min(Math.max(Math.ceil(millis), 0), 9_999_999_999))
