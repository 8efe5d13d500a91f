/**
 * Judges one call of our client: it must end within its timeout (plus slack for a loaded
 * machine) with a message or a ConnectError that has a known code; a defect, another error,
 * or a call still running is a problem. The outcome is the code, or "ok".
 */
import { Code, type ConnectClient, ConnectError } from "connect-effect"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { TestService } from "../test/gen/connecteffect/test/v1/test_pb.js"
import { hang } from "./kind.js"
import type { Judgement } from "./oracles.js"

/** How long past its own timeout a call may take to end before it counts as hung. */
export const slackMs = 5000

export const judgeCall = (call: Effect.Effect<unknown, ConnectError.ConnectError>, timeoutMs: number): Effect.Effect<Judgement> =>
  Effect.suspend(() => {
    const start = Date.now()
    return call.pipe(
      Effect.timeoutTo({ duration: timeoutMs + slackMs, onSuccess: Option.some, onTimeout: Option.none }),
      Effect.exit,
      Effect.map((exit): Judgement => {
        if (Exit.isSuccess(exit)) {
          return Option.isNone(exit.value) ? hang(`still running ${timeoutMs + slackMs} ms after it began (timeout ${timeoutMs} ms)`) : { outcome: "ok" }
        }
        const failure = Option.getOrUndefined(Cause.failureOption(exit.cause))
        if (!ConnectError.isConnectError(failure)) return { outcome: "defect", problem: `not a ConnectError: ${Cause.pretty(exit.cause).slice(0, 300)}` }
        if (!Code.isCode(failure.code)) return { outcome: `code ${String(failure.code)}`, problem: `an unknown code ${String(failure.code)}` }
        const elapsed = Date.now() - start
        return elapsed > timeoutMs + slackMs
          ? { outcome: failure.code, problem: `ended ${elapsed} ms after it began, past its timeout of ${timeoutMs} ms` }
          : { outcome: failure.code }
      })
    )
  })

/** The hostile servers' calls: a unary Echo or a ServerStream, with a 1 s timeout. */
export const hostileCallTimeoutMs = 1000

/** A unary Echo or a ServerStream on `client`, sent with `headers` (a hostile server finds its answer by them), judged. */
export const judgeHostileCall = (client: ConnectClient.Client<typeof TestService>, streaming: boolean, headers: Record<string, string>) => {
  const options = { headers, timeout: hostileCallTimeoutMs }
  return judgeCall(
    streaming ? Stream.runDrain(client.serverStream({ text: "x", count: 2 }, options)) : client.echo({ text: "x" }, options),
    hostileCallTimeoutMs
  )
}
