/**
 * Retrying calls that are safe to repeat, on a `Schedule`: a client interceptor that retries
 * an idempotent method (`NO_SIDE_EFFECTS` or `IDEMPOTENT`) failing with a retryable code, and
 * any method whose failure proves the request never left (a refused connection). Each attempt
 * is sent with what remains of the call's timeout; the timeout still bounds all attempts
 * together. A streaming call is retried only while opening it, and a client or bidi stream only
 * if no request message was taken from the caller's Stream.
 *
 * @since 0.2.0
 */
import type * as Schedule from "effect/Schedule"
import type { Code } from "./internal/code.js"
import type { ConnectError } from "./internal/connectError.js"
import type { ClientInterceptor } from "./internal/interceptor/client.js"
import { defaultRetrySchedule, retryInterceptor } from "./internal/retry.js"

export {
  /**
   * Whether a method is marked `NO_SIDE_EFFECTS` or `IDEMPOTENT`.
   *
   * @since 0.2.0
   * @category predicates
   */
  isIdempotent,
  /**
   * Whether a failure proves the request never reached the server: `unavailable`, caused by a
   * connection that could not be made.
   *
   * @since 0.2.0
   * @category predicates
   */
  neverSent
} from "./internal/retry.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options<R = never> {
  /**
   * When to try again, fed each failure (default: up to 3 retries, exponential from 100 ms with
   * jitter).
   */
  readonly schedule?: Schedule.Schedule<unknown, ConnectError, R>
  /** The codes worth another attempt (default `unavailable`). */
  readonly codes?: ReadonlyArray<Code>
}

/**
 * The default schedule: up to 3 retries, exponential from 100 ms with jitter.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultSchedule: Schedule.Schedule<unknown, ConnectError> = defaultRetrySchedule

/**
 * A client interceptor that retries what is safe to retry.
 *
 * @example
 * ```ts
 * const TransportLive = NodeTransport.layerUndici({ baseUrl }).pipe(
 *   ClientInterceptor.intercept(Retry.make({ schedule: Schedule.spaced("50 millis").pipe(Schedule.compose(Schedule.recurs(2))) }))
 * )
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make = <R = never>(options: Options<R> = {}): ClientInterceptor<R> =>
  retryInterceptor({ schedule: options.schedule ?? defaultRetrySchedule, codes: options.codes ?? ["unavailable"] })
