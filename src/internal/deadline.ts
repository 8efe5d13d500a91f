/**
 * Timeouts of whole calls, on both sides: a unary exchange, or every message of a stream,
 * must finish in time or fail with deadline_exceeded.
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ConnectError } from "./connectError.js"

/** @internal */
export interface Deadline {
  readonly timeoutMs: number
  /** When, in epoch milliseconds (what handlers see). */
  readonly at: number
  /** When, on the monotonic clock (`performance.now()`), which the wall clock's steps do not move. */
  readonly monotonicAt: number
  readonly error: () => ConnectError
}

/** @internal */
export const deadlineAfter = (timeoutMs: number, message: string): Deadline => ({
  timeoutMs,
  at: Date.now() + timeoutMs,
  monotonicAt: performance.now() + timeoutMs,
  error: () => new ConnectError({ code: "deadline_exceeded", message: `${message} ${timeoutMs} ms` })
})

/** The deadline of a client call's timeout option. @internal */
export const deadlineOf = (timeout: Duration.DurationInput | undefined): Deadline | undefined =>
  timeout === undefined
    ? undefined
    : deadlineAfter(Duration.toMillis(Duration.decode(timeout)), "the call exceeded its timeout of")

const remaining = (deadline: Deadline) => Math.max(0, deadline.monotonicAt - performance.now())

/**
 * A failure once the deadline has passed is the deadline's: a peer that enforces the same
 * deadline (a gRPC server resets the stream with CANCEL) may be heard a moment before our timer.
 */
const pastDeadline = <E>(deadline: Deadline) => (error: E): E | ConnectError =>
  performance.now() >= deadline.monotonicAt ? deadline.error() : error

/** @internal */
export const effectWithin = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  deadline: Deadline | undefined
): Effect.Effect<A, E | ConnectError, R> =>
  deadline === undefined
    ? effect
    : Effect.suspend(() => Effect.timeoutFail(effect, { duration: remaining(deadline), onTimeout: deadline.error })).pipe(
      Effect.mapError(pastDeadline<E | ConnectError>(deadline))
    )

/** @internal */
export const streamWithin = <A, E, R>(
  stream: Stream.Stream<A, E, R>,
  deadline: Deadline | undefined
): Stream.Stream<A, E | ConnectError, R> =>
  deadline === undefined
    ? stream
    : Stream.interruptWhen(
      stream,
      Effect.suspend(() => Effect.zipRight(Effect.sleep(remaining(deadline)), Effect.fail(deadline.error())))
    ).pipe(Stream.mapError(pastDeadline<E | ConnectError>(deadline)))

/** One pull of a Stream (`Stream.toPull`), failing with the deadline's error when it passes first. @internal */
export const pullWithin = <A, E>(
  pull: Effect.Effect<A, Option.Option<E>>,
  deadline: Deadline | undefined
): Effect.Effect<A, Option.Option<E | ConnectError>> =>
  deadline === undefined
    ? pull
    : Effect.suspend(() =>
      Effect.timeoutFail(pull, { duration: remaining(deadline), onTimeout: () => Option.some(deadline.error()) })
    )
