// Everything here is public through src/Code.ts, which re-exports it whole; it lives here so that internals never import a public module.

/**
 * One of the 16 Connect error codes (the gRPC codes, in snake case).
 *
 * @since 0.1.0
 * @category models
 */
export type Code =
  | "canceled"
  | "unknown"
  | "invalid_argument"
  | "deadline_exceeded"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "resource_exhausted"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "unimplemented"
  | "internal"
  | "unavailable"
  | "data_loss"
  | "unauthenticated"

/**
 * Every code, in the order of their gRPC numbers (1 to 16).
 *
 * @since 0.1.0
 * @category constants
 */
export const all: ReadonlyArray<Code> = [
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated"
]

const codeSet: ReadonlySet<string> = new Set(all)

/**
 * Whether a string is a Connect code name.
 *
 * @since 0.1.0
 * @category guards
 */
export const isCode = (value: unknown): value is Code => typeof value === "string" && codeSet.has(value)

/**
 * The gRPC number of a code (`canceled` is 1, `unauthenticated` is 16).
 *
 * @since 0.1.0
 * @category conversions
 */
export const toNumber = (code: Code): number => all.indexOf(code) + 1

/**
 * The code of a gRPC number, if it is one of the 16.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromNumber = (value: number): Code | undefined => all[value - 1]

const httpStatusOfCode: Record<Code, number> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401
}

/**
 * The HTTP status a Connect server answers a unary error of this code with.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toHttpStatus = (code: Code): number => httpStatusOfCode[code]

/**
 * The code a client infers from an HTTP status when the body carries no Connect
 * error (a proxy's 502, say), as the Connect specification maps them.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromHttpStatus = (status: number): Code => {
  switch (status) {
    case 400:
      return "internal"
    case 401:
      return "unauthenticated"
    case 403:
      return "permission_denied"
    case 404:
      return "unimplemented"
    case 429:
    case 502:
    case 503:
    case 504:
      return "unavailable"
    default:
      return "unknown"
  }
}
