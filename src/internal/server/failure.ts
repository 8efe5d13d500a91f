/**
 * What a client learns of a failed handler: a ConnectError as it is; anything else is logged
 * here and reaches the client as a bare `internal`, so that no internal detail leaks.
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ConnectError, isConnectError } from "../connectError.js"

/** @internal */
export const errorOfCause = (cause: Cause.Cause<unknown>): Effect.Effect<ConnectError> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && isConnectError(failure.value)) return Effect.succeed(failure.value)
  return Effect.as(
    Effect.logError("connect-effect: handler failed", cause),
    new ConnectError({ code: "internal", message: "internal error" })
  )
}
