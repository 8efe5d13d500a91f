/**
 * Every kind of handler seen as a stream of requests to a stream of responses, which is how
 * the streaming protocols carry them.
 * @internal
 */
import type { DescMethod } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ConnectError } from "../connectError.js"
import { exactlyOne } from "../exactlyOne.js"

type Out = Effect.Effect<unknown, unknown> | Stream.Stream<unknown, unknown>

/** @internal */
export const toStreamingHandler = <Ctx>(
  kind: DescMethod["methodKind"],
  call: (input: unknown, ctx: Ctx) => Out
) =>
(requests: Stream.Stream<unknown, ConnectError>, ctx: Ctx): Stream.Stream<unknown, unknown> => {
  switch (kind) {
    case "unary":
      return Stream.fromEffect(Effect.flatMap(exactlyOne(requests, "request"), (r) => call(r, ctx) as Effect.Effect<unknown, unknown>))
    case "server_streaming":
      return Stream.unwrap(Effect.map(exactlyOne(requests, "request"), (r) => call(r, ctx) as Stream.Stream<unknown, unknown>))
    case "client_streaming":
      return Stream.fromEffect(call(requests, ctx) as Effect.Effect<unknown, unknown>)
    case "bidi_streaming":
      return call(requests, ctx) as Stream.Stream<unknown, unknown>
  }
}
