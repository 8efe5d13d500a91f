/**
 * TestService as the reliability runs serve it: the behaviour of test/support/testService.ts
 * (echo, `fail_with`, streams of `count` messages of `size` bytes, `delay_ms` apart, though the
 * first comes at once, so that a stream is answered as soon as it opens), with every
 * request-driven cost capped. A fuzzer writes any `delay_ms`, `count` and `size`: the test
 * service would sleep for weeks or allocate gigabytes because a request asked it to, which
 * measures the service, not the library.
 */
import { Code, ConnectError, ConnectService } from "connect-effect"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { TestService } from "../test/gen/connecteffect/test/v1/test_pb.js"

/** The most a request may ask for. */
export interface Caps {
  readonly delayMs: number
  readonly count: number
  readonly size: number
}

const failure = (code: string) =>
  ConnectError.make(Code.isCode(code) ? code : "internal", Code.isCode(code) ? "failed as asked" : "unknown fail_with")

const pause = (ms: number, caps: Caps) => {
  const capped = Math.min(Math.max(ms, 0), caps.delayMs)
  return capped > 0 ? Effect.sleep(capped) : Effect.void
}

/** TestService with each request's delay, message count and message size capped by `caps`. */
export const boundedTestService = (caps: Caps) =>
  ConnectService.toLayer(TestService, {
    echo: (request) =>
      Effect.zipRight(
        pause(request.delayMs, caps),
        request.failWith === "" ? Effect.succeed({ text: request.text, payload: request.payload }) : Effect.fail(failure(request.failWith))
      ),
    serverStream: (request) => {
      const size = Math.min(Math.max(request.size, 0), caps.size)
      const messages = Stream.range(1, Math.min(request.count, caps.count)).pipe(
        // The first message at once (the response under way), then one every `delay_ms`.
        Stream.mapEffect((i) => Effect.as(i === 1 ? Effect.void : pause(request.delayMs, caps), { text: `${request.text} ${i}`, payload: new Uint8Array(size) }))
      )
      return request.failWith === "" ? messages : Stream.concat(messages, Stream.fail(failure(request.failWith)))
    },
    clientStream: (requests) => Effect.map(Stream.runCount(requests), (n) => ({ text: String(n) })),
    bidiStream: (requests) =>
      Stream.mapEffect(requests, (request) => request.failWith === "" ? Effect.succeed({ text: request.text }) : Effect.fail(failure(request.failWith)))
  })
