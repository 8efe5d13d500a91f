/**
 * The Eliza service implementation.
 */
import { ConnectError, type ConnectService } from "connect-effect"
import * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { ElizaServiceHandlers } from "./gen/connectrpc/eliza/v1/eliza_connect_effect.js"
import { farewell, introduction, reply } from "./eliza.js"

/**
 * Eliza's sentences until the server shuts down, and then a last one: the client sees the
 * conversation end in good order rather than cut off.
 */
const untilShutdown = <E>(sentences: Stream.Stream<{ readonly sentence: string }, E>, ctx: ConnectService.HandlerContext) =>
  Stream.merge(sentences, Stream.fromEffect(Effect.as(ctx.shuttingDown, { sentence: farewell })), { haltStrategy: "either" })

/** Eliza, who pauses `introducePause` between the sentences of Introduce (so that a page shows them arrive). */
export const makeElizaLive = (introducePause: Duration.DurationInput = 0) =>
  ElizaServiceHandlers.layer({
    say: (request) =>
      request.sentence.trim() === ""
        ? Effect.fail(ConnectError.make("invalid_argument", "say something: the sentence is empty"))
        : Effect.succeed({ sentence: reply(request.sentence) }),
    converse: (requests, ctx) =>
      untilShutdown(
        requests.pipe(Stream.zipWithIndex, Stream.map(([request, turn]) => ({ sentence: reply(request.sentence, turn) }))),
        ctx
      ),
    introduce: (request, ctx) =>
      untilShutdown(
        Stream.fromIterable(introduction(request.name.trim() === "" ? "stranger" : request.name)).pipe(
          Stream.map((sentence) => ({ sentence })),
          introducePause === 0 ? (s) => s : Stream.schedule(Schedule.spaced(introducePause))
        ),
        ctx
      ),
    pontificate: (requests) =>
      Effect.map(Stream.runCollect(requests), (all) => ({
        sentence: `You said ${all.length} things. ${reply(Chunk.last(all).pipe(Option.map((r) => r.sentence), Option.getOrElse(() => "")))}`
      }))
  })

export const ElizaLive = makeElizaLive()
