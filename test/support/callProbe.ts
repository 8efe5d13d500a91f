/**
 * TestService whose handlers wait for their client to vanish, and count what happens to them,
 * per call group (the `x-probe` request header): how many started, and how each ended, counted
 * in a finalizer, so that a count of endings is a count of finalizers run: interrupted; failed
 * with `canceled`, the error a handler's request stream fails with when the client goes away
 * (a handler reading requests may see it before the interruption reaches it); failed
 * otherwise; succeeded. Echo answers at once when its text is "health", and otherwise waits
 * forever; ServerStream sends a message every 10 ms forever; ClientStream and BidiStream read
 * (and BidiStream echoes) their requests, then wait forever.
 */
import { ConnectError, ConnectService } from "connect-effect"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TestService } from "../gen/connecteffect/test/v1/test_pb.js"

export interface ProbeCounts {
  started: number
  interrupted: number
  canceled: number
  failed: number
  succeeded: number
}

export interface CallProbe {
  /** The counts of group `group`, live. */
  readonly of: (group: string) => ProbeCounts
}

const endingOf = (exit: Exit.Exit<unknown, unknown>): "interrupted" | "canceled" | "failed" | "succeeded" => {
  if (Exit.isSuccess(exit)) return "succeeded"
  if (Cause.isInterruptedOnly(exit.cause)) return "interrupted"
  const failure = Option.getOrUndefined(Cause.failureOption(exit.cause))
  return ConnectError.isConnectError(failure) && failure.code === "canceled" ? "canceled" : "failed"
}

/** The probe, and TestService's Layer counting into it. */
export const callProbe = () => {
  const groups = new Map<string, ProbeCounts>()
  const of = (group: string) => {
    let counts = groups.get(group)
    if (counts === undefined) groups.set(group, counts = { started: 0, interrupted: 0, canceled: 0, failed: 0, succeeded: 0 })
    return counts
  }
  const groupOf = (ctx: ConnectService.HandlerContext) => String(ctx.requestHeaders["x-probe"] ?? "none")
  const start = (group: string) => Effect.sync(() => of(group).started++)
  const end = (group: string) => (_: unknown, exit: Exit.Exit<unknown, unknown>) => Effect.sync(() => of(group)[endingOf(exit)]++)
  const watched = <A, E, R>(ctx: ConnectService.HandlerContext, effect: Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(start(groupOf(ctx)), () => effect, end(groupOf(ctx)))
  const watchedStream = <A, E, R>(ctx: ConnectService.HandlerContext, stream: Stream.Stream<A, E, R>) =>
    Stream.flatMap(Stream.acquireRelease(start(groupOf(ctx)), end(groupOf(ctx))), () => stream)
  const layer = ConnectService.toLayer(TestService, {
    echo: (request, ctx) => request.text === "health" ? Effect.succeed({ text: "ok" }) : watched(ctx, Effect.never),
    serverStream: (request, ctx) =>
      watchedStream(ctx, Stream.repeatEffect(Effect.as(Effect.sleep("10 millis"), { text: request.text, payload: new Uint8Array(request.size) }))),
    clientStream: (requests, ctx) => watched(ctx, Effect.zipRight(Stream.runDrain(requests), Effect.never)),
    bidiStream: (requests, ctx) => watchedStream(ctx, Stream.concat(Stream.map(requests, (r) => ({ text: r.text })), Stream.never))
  })
  return { probe: { of } satisfies CallProbe, layer }
}
