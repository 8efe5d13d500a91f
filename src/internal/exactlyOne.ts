/**
 * The one message of a unary side of a call, from a stream that might carry none or several:
 * a cardinality violation is `unimplemented`, as in connect-go.
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConnectError } from "./connectError.js"

/** @internal */
export const cardinalityError = (what: "request" | "response", count: number): ConnectError =>
  new ConnectError({
    code: "unimplemented",
    message: `protocol error: expected 1 ${what} message, got ${count === 0 ? "none" : "more"}`
  })

/** @internal */
export const exactlyOne = <A>(
  messages: Stream.Stream<A, ConnectError>,
  what: "request" | "response"
): Effect.Effect<A, ConnectError> =>
  Effect.flatMap(Stream.runCollect(Stream.take(messages, 2)), (chunk) =>
    Chunk.size(chunk) === 1
      ? Effect.succeed(Chunk.unsafeHead(chunk))
      : Effect.fail(cardinalityError(what, Chunk.size(chunk))))
