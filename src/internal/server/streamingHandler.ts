/**
 * Every kind of handler seen as a stream of requests to a stream of responses, which is how
 * the streaming protocols carry them.
 * @internal
 */
import type { DescMethod } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConnectError } from "../../ConnectError.js"

type Out = Effect.Effect<unknown, unknown> | Stream.Stream<unknown, unknown>

/** The one request message of a unary or server-streaming call. @internal */
export const singleRequest = <A>(requests: Stream.Stream<A, ConnectError>): Effect.Effect<A, ConnectError> =>
  Effect.flatMap(Stream.runCollect(Stream.take(requests, 2)), (chunk) => {
    const items = Array.from(chunk)
    return items.length === 1
      ? Effect.succeed(items[0]!)
      : Effect.fail(new ConnectError({
        code: "unimplemented",
        message: `protocol error: expected 1 request message, got ${items.length === 0 ? "none" : "more"}`
      }))
  })

/** @internal */
export const toStreamingHandler = <Ctx>(
  kind: DescMethod["methodKind"],
  call: (input: unknown, ctx: Ctx) => Out
) =>
(requests: Stream.Stream<unknown, ConnectError>, ctx: Ctx): Stream.Stream<unknown, unknown> => {
  switch (kind) {
    case "unary":
      return Stream.fromEffect(Effect.flatMap(singleRequest(requests), (r) => call(r, ctx) as Effect.Effect<unknown, unknown>))
    case "server_streaming":
      return Stream.unwrap(Effect.map(singleRequest(requests), (r) => call(r, ctx) as Stream.Stream<unknown, unknown>))
    case "client_streaming":
      return Stream.fromEffect(call(requests, ctx) as Effect.Effect<unknown, unknown>)
    case "bidi_streaming":
      return call(requests, ctx) as Stream.Stream<unknown, unknown>
  }
}
