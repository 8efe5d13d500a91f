// Everything here is public through src/ConnectError.ts, which re-exports it whole; it lives here so that internals never import a public module.
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf"
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import * as Headers from "@effect/platform/Headers"
import * as Data from "effect/Data"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import type { Code } from "./code.js"

/**
 * A google.protobuf.Any-like error detail: the fully-qualified message type name
 * (without the `type.googleapis.com/` prefix) and its binary encoding.
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrorDetail {
  /** The message's fully-qualified type name, such as `google.rpc.ErrorInfo`. */
  readonly type: string
  /** The message in the protobuf binary encoding. */
  readonly value: Uint8Array
  /** A JSON rendering for people reading the wire; never needed to decode. */
  readonly debug?: unknown
}

/**
 * What `new ConnectError(...)` takes: only `code` is required.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectErrorOptions {
  /** The Connect code, such as `"not_found"`. */
  readonly code: Code
  /** Said to the peer, for people (default empty). */
  readonly message?: string
  /** Messages that say more, for programs (see `detail`). */
  readonly details?: ReadonlyArray<ErrorDetail>
  /** Headers and trailers of the failed call (received), or to send with the error (handlers). */
  readonly metadata?: Headers.Input
  /** What caused it here; never sent. */
  readonly cause?: unknown
}

/**
 * The failure of an RPC. A tagged error, so `Effect.catchTag("ConnectError", ...)` works.
 *
 * @since 0.1.0
 * @category models
 */
export class ConnectError extends Data.TaggedError("ConnectError")<{
  /** The Connect code, such as `"not_found"`. */
  readonly code: Code
  /** For people; empty when the peer sent none. */
  readonly message: string
  /** Messages that say more, for programs (decode them with `findDetails`). */
  readonly details: ReadonlyArray<ErrorDetail>
  /** Headers and trailers of the failed call (received), or to send with the error (handlers). */
  readonly metadata: Headers.Headers
  /** What caused it on this side (a network error, a failed decoding); never sent. */
  readonly cause?: unknown
}> {
  constructor(options: ConnectErrorOptions) {
    super({
      code: options.code,
      message: options.message ?? "",
      details: options.details ?? [],
      metadata: options.metadata === undefined ? Headers.empty : Headers.fromInput(options.metadata),
      ...(options.cause === undefined ? {} : { cause: options.cause })
    })
  }

  /**
   * `ConnectError [code]`: what logs, `Cause.pretty` and an error escaping to `runMain` or
   * `runPromise` show before the message, so that the code is never lost.
   */
  override get name(): string {
    return `ConnectError [${this.code}]`
  }

  /** `ConnectError [code] message`. */
  override toString(): string {
    return this.message === "" ? `ConnectError [${this.code}]` : `ConnectError [${this.code}] ${this.message}`
  }
}

/**
 * Builds a ConnectError.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (code: Code, message: string, options?: Omit<ConnectErrorOptions, "code" | "message">) =>
  new ConnectError({ ...options, code, message })

/**
 * Whether a value is a ConnectError.
 *
 * @since 0.1.0
 * @category guards
 */
export const isConnectError = (u: unknown): u is ConnectError => Predicate.isTagged(u, "ConnectError")

/**
 * Encodes a message as an error detail, to attach it to a ConnectError.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf"
 * ConnectError.make("not_found", "no such user", {
 *   details: [ConnectError.detail(ErrorInfoSchema, { reason: "USER_DELETED" })]
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const detail = <Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): ErrorDetail => ({
  type: schema.typeName,
  value: toBinary(schema, create(schema, init))
})

/**
 * Decodes the details of the given message type; details of other types, or that do not
 * decode, are left out.
 *
 * @since 0.1.0
 * @category getters
 */
export const findDetails: {
  <Desc extends DescMessage>(schema: Desc): (self: ConnectError) => Array<MessageShape<Desc>>
  <Desc extends DescMessage>(self: ConnectError, schema: Desc): Array<MessageShape<Desc>>
} = dual(2, <Desc extends DescMessage>(self: ConnectError, schema: Desc): Array<MessageShape<Desc>> => {
  const found: Array<MessageShape<Desc>> = []
  for (const d of self.details) {
    if (d.type !== schema.typeName) continue
    try {
      found.push(fromBinary(schema, d.value))
    } catch {
      // A detail that does not decode is not of this type after all.
    }
  }
  return found
})
