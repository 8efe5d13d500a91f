/**
 * What gRPC and gRPC-Web share on the wire: header names, content types, `grpc-timeout`, and
 * the status codes (the Connect codes' numbers; 0 is OK).
 * @internal
 */
import { ConnectError } from "../connectError.js"

/** @internal */
export const headerContentType = "content-type"
/** @internal */
export const headerEncoding = "grpc-encoding"
/** @internal */
export const headerAcceptEncoding = "grpc-accept-encoding"
/** @internal */
export const headerTimeout = "grpc-timeout"
/** @internal */
export const headerStatus = "grpc-status"
/** @internal */
export const headerMessage = "grpc-message"
/** @internal */
export const headerStatusDetails = "grpc-status-details-bin"
/** @internal */
export const headerUserAgent = "user-agent"
/** @internal */
export const headerWebUserAgent = "x-user-agent"
/** @internal */
export const userAgent = "connect-effect/0.2.0"

/** The headers a gRPC peer reads as the call's status, never as the application's metadata. @internal */
export const statusHeaders: ReadonlySet<string> = new Set([headerStatus, headerMessage, headerStatusDetails])

/** The envelope flag of gRPC-Web's trailers frame. @internal */
export const flagTrailers = 0b10000000

const contentTypeRegExp = /^application\/grpc(-web)?(?:\+(proto|json)(?:;\s*charset=utf-?8)?)?$/i

/** @internal */
export interface ParsedContentType {
  readonly web: boolean
  readonly json: boolean
}

/**
 * `application/grpc`, `application/grpc+proto`, `application/grpc+json` and their `grpc-web`
 * twins. Other codecs (`+thrift`) and `grpc-web-text` are not ours: undefined.
 * @internal
 */
export const parseContentType = (value: string | undefined): ParsedContentType | undefined => {
  if (value === undefined) return undefined
  const match = contentTypeRegExp.exec(value.trim())
  return match === null ? undefined : { web: match[1] !== undefined, json: match[2]?.toLowerCase() === "json" }
}

/** Bare `application/grpc` for proto, as the gRPC spec asks of senders. @internal */
export const contentType = (web: boolean, json: boolean): string =>
  `application/${web ? "grpc-web" : "grpc"}${json ? "+json" : web ? "+proto" : ""}`

const timeoutUnits: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 }

/**
 * Parses `grpc-timeout`: 1 to 8 ASCII digits and a unit (H, M, S, m, u, n), in whole
 * milliseconds (rounded up: deadlines are epoch milliseconds everywhere else).
 * @internal
 */
export const parseTimeout = (value: string | undefined): number | undefined | ConnectError => {
  if (value === undefined) return undefined
  const match = /^(\d{1,8})([HMSmun])$/.exec(value)
  if (match === null) {
    return new ConnectError({ code: "invalid_argument", message: `protocol error: invalid grpc timeout value: ${value}` })
  }
  return Math.ceil(Number(match[1]) * timeoutUnits[match[2]!]!)
}

/** The `grpc-timeout` of a timeout: the finest unit whose value fits in 8 digits. @internal */
export const encodeTimeout = (millis: number): string => {
  const ms = Math.max(Math.ceil(millis), 0)
  if (ms < 100_000_000) return `${ms}m`
  const seconds = Math.ceil(ms / 1_000)
  if (seconds < 100_000_000) return `${seconds}S`
  return `${Math.min(Math.ceil(seconds / 60), 99_999_999)}M`
}
