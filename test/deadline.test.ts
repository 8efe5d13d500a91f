/**
 * A call's deadline: a failure heard once it has passed is deadline_exceeded, whatever the peer
 * said (a gRPC server that enforces the same deadline resets the stream with CANCEL, which can
 * arrive before our own timer fires).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConnectError } from "../src/internal/connectError.js"
import { deadlineAfter, effectWithin, streamWithin } from "../src/internal/deadline.js"

/** Holds the thread past `ms` (so no timer can fire), then fails as a peer's reset would. */
const resetAfterBusy = (ms: number) =>
  Effect.suspend(() => {
    const until = Date.now() + ms
    while (Date.now() < until) { /* busy: the deadline's timer cannot run */ }
    return Effect.fail(new ConnectError({ code: "canceled", message: "HTTP/2 stream closed with error code 0x8" }))
  })

describe("deadlines", () => {
  it.effect("a failure after the deadline is deadline_exceeded (unary)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(effectWithin(resetAfterBusy(30), deadlineAfter(10, "the call exceeded its timeout of")))
      expect(error.code).toBe("deadline_exceeded")
    }))

  it.effect("a failure after the deadline is deadline_exceeded (streams)", () =>
    Effect.gen(function*() {
      const stream = Stream.fromEffect(resetAfterBusy(30))
      const error = yield* Effect.flip(Stream.runDrain(streamWithin(stream, deadlineAfter(10, "the call exceeded its timeout of"))))
      expect(error.code).toBe("deadline_exceeded")
    }))

  it.effect("a failure before the deadline keeps its code", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(effectWithin(resetAfterBusy(0), deadlineAfter(10_000, "the call exceeded its timeout of")))
      expect(error.code).toBe("canceled")
    }))
})
