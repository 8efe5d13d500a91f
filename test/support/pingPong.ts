/**
 * Full-duplex bidi, as a test drives it: "ping 0" is sent, and each next ping only once the
 * previous answer has arrived, which a half-duplex exchange can never do (it stalls).
 */
import { expect } from "@effect/vitest"
import type { ConnectError } from "connect-effect"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

/** A client's bidi method, echoing each request's text. */
type Bidi = (requests: Stream.Stream<{ text: string }>) => Stream.Stream<{ readonly text: string }, ConnectError.ConnectError>

/** Plays `rounds` rounds of ping-pong on `bidi` and checks every answer came back, in order, within 3 s. */
export const pingPong = (bidi: Bidi, rounds: number) =>
  Effect.gen(function*() {
    const pending = yield* Queue.unbounded<{ text: string }>()
    yield* Queue.offer(pending, { text: "ping 0" })
    const received: Array<string> = []
    yield* bidi(Stream.fromQueue(pending)).pipe(
      Stream.tap((m) => {
        received.push(m.text)
        return received.length < rounds ? Queue.offer(pending, { text: `ping ${received.length}` }) : Queue.shutdown(pending)
      }),
      Stream.runDrain,
      Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => new Error("bidi stalled: not full duplex") })
    )
    expect(received).toEqual(Array.from({ length: rounds }, (_, i) => `ping ${i}`))
  })
