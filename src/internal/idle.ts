/**
 * A peer that stops sending: a body read as a Stream fails once it has delivered no byte for
 * a while, counted only while the reader waits for bytes it needs (a message begun, or a body
 * that must arrive whole), never while the reader itself holds back.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ConnectError } from "./connectError.js"

/** The failure of a request body that stopped arriving. @internal */
export const bodyStalled = (idleMs: number): ConnectError =>
  new ConnectError({
    code: "deadline_exceeded",
    message: `the request body stalled: no bytes for ${idleMs} ms (readIdleTimeoutMs)`
  })

/**
 * `bytes`, failing with `bodyStalled` when a pull made while `waiting()` holds gets nothing for
 * `idleMs`. Only such pulls are timed: one timer per pull that waits for the rest of a message.
 * @internal
 */
export const failWhenIdle = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  idleMs: number,
  waiting: () => boolean
): Stream.Stream<Uint8Array, E | ConnectError, R> =>
  Stream.unwrapScoped(Effect.map(Stream.toPull(bytes), (pull) => {
    const timed = Effect.timeoutFail(pull, {
      duration: idleMs,
      onTimeout: (): Option.Option<E | ConnectError> => Option.some(bodyStalled(idleMs))
    })
    return Stream.repeatEffectChunkOption<Uint8Array, E | ConnectError, R>(Effect.suspend(() => waiting() ? timed : pull))
  }))
