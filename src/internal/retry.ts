/**
 * Retries of calls that are safe to repeat, as a client interceptor: idempotent methods, or
 * failures that prove the request never left (no connection). Each attempt gets what remains
 * of the call's deadline, and a stream is retried only until its first message.
 * @internal
 */
import type { DescMethod } from "@bufbuild/protobuf"
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Code } from "./code.js"
import type { ConnectError } from "./connectError.js"
import { deadlineOf } from "./deadline.js"
import type { CallInfo, ClientInterceptor } from "./interceptor/client.js"
import type { StreamResponse } from "./transport.js"

/** Errors of a connection that was never made, so that nothing was sent: Node's and undici's codes. */
const notConnected = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT"
])

/**
 * Whether a failure proves that the request never reached the server: `unavailable` caused by
 * a connection that could not be made, however deep the HTTP client wrapped the reason.
 * @internal
 */
export const neverSent = (error: ConnectError): boolean => {
  if (error.code !== "unavailable") return false
  let cause: unknown = error.cause
  for (let depth = 0; depth < 5 && typeof cause === "object" && cause !== null; depth++) {
    const code = (cause as { readonly code?: unknown }).code
    if (typeof code === "string" && notConnected.has(code)) return true
    cause = (cause as { readonly cause?: unknown }).cause
  }
  return false
}

/** Whether a method is marked `NO_SIDE_EFFECTS` or `IDEMPOTENT`. @internal */
export const isIdempotent = (method: DescMethod): boolean =>
  method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
  method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT

/** @internal */
export interface RetryOptions<R> {
  readonly schedule: Schedule.Schedule<unknown, ConnectError, R>
  readonly codes: ReadonlyArray<Code>
}

/** Retries while `again` says so, each attempt with what remains of the call's timeout. */
const attempts = <A, E extends ConnectError, R, RS>(
  call: CallInfo,
  schedule: Schedule.Schedule<unknown, ConnectError, RS>,
  again: (error: E) => boolean,
  attempt: (timeoutMs: number | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | RS> =>
  Effect.suspend(() => {
    const deadline = call.timeoutMs === undefined ? undefined : Date.now() + call.timeoutMs
    const once = Effect.suspend(() => {
      if (deadline === undefined) return attempt(undefined)
      const remaining = deadline - Date.now()
      // Past the deadline the caller's timer is about to fail the call: no attempt is sent.
      return remaining > 0 ? attempt(remaining) : Effect.fail(deadlineOf(call.timeoutMs)!.error() as E)
    })
    return Effect.retry(once, { schedule, while: again })
  })

/** @internal */
export const retryInterceptor = <R>(options: RetryOptions<R>): ClientInterceptor<R> => {
  const codes = new Set<Code>(options.codes)
  const safe = (method: DescMethod, error: ConnectError) => codes.has(error.code) && (isIdempotent(method) || neverSent(error))
  return {
    unary: (request, next) =>
      attempts(request, options.schedule, (error) => safe(request.method, error), (timeoutMs) => next({ ...request, timeoutMs })),
    stream: (request, next) =>
      Effect.gen(function*() {
        // A server-streaming call's one request is a message the client already has; the requests
        // of client and bidi streams come from the caller's Stream, which may not run twice.
        let pulled = false
        const messages = Stream.tap(request.messages, () => Effect.sync(() => { pulled = true }))
        const replayable = () => request.method.methodKind === "server_streaming" || !pulled
        const callScope = yield* Effect.scope
        return yield* attempts(
          request,
          options.schedule,
          (error) => replayable() && safe(request.method, error),
          (timeoutMs) => openUntilFirst(callScope, next({ ...request, messages, timeoutMs }))
        )
      })
  }
}

/**
 * Opens a stream and waits for its first messages (or its end), in a Scope of its own that a
 * failed attempt closes: an error before the first message (Connect sends one after its
 * headers) fails the attempt, so that it can be retried, while nothing has been consumed.
 */
const openUntilFirst = (
  callScope: Scope.Scope,
  open: Effect.Effect<StreamResponse<unknown>, ConnectError, Scope.Scope>
): Effect.Effect<StreamResponse<unknown>, ConnectError> =>
  Effect.flatMap(Scope.fork(callScope, ExecutionStrategy.sequential), (scope) =>
    Effect.gen(function*() {
      const response = yield* open
      const pull = yield* Stream.toPull(response.messages)
      // A pull may give an empty chunk (a frame that carried no message): wait for a message.
      const nonEmpty = Effect.repeat(pull, { until: Chunk.isNonEmpty })
      const first = yield* Effect.catchAll(nonEmpty, Option.match({
        onNone: () => Effect.succeed(Chunk.empty<unknown>()),
        onSome: (error) => Effect.fail(error)
      }))
      return { ...response, messages: Stream.concat(Stream.fromChunk(first), Stream.repeatEffectChunkOption(pull)) }
    }).pipe(
      Scope.extend(scope),
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    ))

/** @internal */
export const defaultRetrySchedule: Schedule.Schedule<unknown, ConnectError> = Schedule.exponential("100 millis").pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(3))
)
