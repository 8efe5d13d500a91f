/**
 * What every client shows against TestService, whatever carries the calls: errors with details
 * (every code, before and after messages, with the handler's metadata), headers and trailers,
 * and timeouts on every kind of call. Run against connect-node over the network and against
 * our handlers in memory, so that both paths are held to the same behaviour.
 */
import { expect } from "@effect/vitest"
import type * as Vitest from "@effect/vitest"
import { Code, type ConnectClient, ConnectError } from "connect-effect"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { describe } from "vitest"
import { ErrorDetailSchema, type TestService } from "../gen/connecteffect/test/v1/test_pb.js"

/** Runs a stream to its end, keeping the messages received before it failed; fails if it does not fail. */
export const collectUntilFailure = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.gen(function*() {
    const received: Array<A> = []
    const error = yield* Effect.flip(Stream.runForEach(stream, (a) => Effect.sync(() => received.push(a))))
    return { received, error }
  })

export const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toArray)

/** TestService's failure of `code` for request text `text`: its message and its one detail. */
export const expectError = (
  error: unknown,
  code: string,
  text: string
) => {
  expect(ConnectError.isConnectError(error)).toBe(true)
  const e = error as ConnectError.ConnectError
  expect(e.code).toBe(code)
  expect(e.message).toBe(`failed: ${text}`)
  const details = ConnectError.findDetails(e, ErrorDetailSchema)
  expect(details.map((d) => ({ reason: d.reason, attempt: d.attempt }))).toEqual([{ reason: text, attempt: 1 }])
}

/**
 * The shared tests, on `client`, which gives a TestService client (`h2` for bidi calls, where
 * the peer needs HTTP/2).
 */
export const describeClientBehaviour = <R>(
  it: Vitest.Vitest.MethodsNonLive<R, boolean>,
  client: (via?: "h1" | "h2") => Effect.Effect<ConnectClient.Client<typeof TestService>, never, R | Scope.Scope>
) => {
  describe("errors with details", () => {
    it.scoped("unary", () =>
      Effect.gen(function*() {
        const c = yield* client()
        const error = yield* Effect.flip(c.echo({ text: "no", failWith: "not_found" }))
        expectError(error, "not_found", "no")
        // the handler's headers and trailers come with the error
        expect(error.metadata["x-test-header"]).toBe("no")
        expect(error.metadata["x-test-trailer"]).toBe("done")
      }))

    it.scoped("unary, every code", () =>
      Effect.gen(function*() {
        const c = yield* client()
        for (
          const code of Code.all.filter((c) => c !== "not_found")
        ) {
          const error = yield* Effect.flip(c.echo({ text: code, failWith: code }))
          expectError(error, code, code)
        }
      }))

    it.scoped("server stream: messages, then the error", () =>
      Effect.gen(function*() {
        const c = yield* client()
        const { error, received } = yield* collectUntilFailure(
          c.serverStream({ text: "late", count: 2, failWith: "permission_denied" })
        )
        expect(received.map((m) => m.text)).toEqual(["late 0", "late 1"])
        expectError(error, "permission_denied", "late")
        expect(error.metadata["x-test-trailer"]).toBe("done")
      }))

    it.scoped("server stream: the error before any message", () =>
      Effect.gen(function*() {
        const c = yield* client()
        const { error, received } = yield* collectUntilFailure(
          c.serverStream({ text: "early", count: 0, failWith: "failed_precondition" })
        )
        expect(received).toEqual([])
        expectError(error, "failed_precondition", "early")
      }))

    it.scoped("client stream", () =>
      Effect.gen(function*() {
        const c = yield* client()
        const error = yield* Effect.flip(c.clientStream([{ text: "a" }, { text: "b", failWith: "already_exists" }]))
        expectError(error, "already_exists", "a,b")
      }))

    it.scoped("bidi stream", () =>
      Effect.gen(function*() {
        const c = yield* client("h2")
        const { error, received } = yield* collectUntilFailure(
          c.bidiStream([{ text: "ok" }, { text: "bad", failWith: "aborted" }, { text: "never" }])
        )
        expect(received.map((m) => m.text)).toEqual(["ok"])
        expectError(error, "aborted", "bad")
      }))

    it.scoped("withResponse fails with the same error", () =>
      Effect.gen(function*() {
        const c = yield* client()
        expectError(yield* Effect.flip(c.echo.withResponse({ text: "w", failWith: "data_loss" })), "data_loss", "w")
        const stream = yield* c.serverStream.withResponse({ text: "w", count: 1, failWith: "out_of_range" })
        const { error, received } = yield* collectUntilFailure(stream.messages)
        expect(received).toHaveLength(1)
        expectError(error, "out_of_range", "w")
        // the trailers of a failed stream are its error's metadata
        expect((yield* stream.trailers)["x-test-trailer"]).toBe("done")
      }))
  })

  describe("headers and trailers", () => {
    const requestHeaders = { "x-test-a": "1", "x-test-b": "two" }
    const echoed = ["x-test-a: 1", "x-test-b: two"]

    it.scoped("unary", () =>
      Effect.gen(function*() {
        const c = yield* client()
        const res = yield* c.echo.withResponse({ text: "meta" }, { headers: requestHeaders })
        expect(res.message.headers).toEqual(echoed)
        expect(res.headers["x-test-header"]).toBe("meta")
        expect(res.trailers["x-test-trailer"]).toBe("done")
        expect(res.headers["trailer-x-test-trailer"]).toBeUndefined()
        expect(res.headers["x-test-trailer"]).toBeUndefined()
      }))

    it.scoped("server stream: headers first, trailers after the last message", () =>
      Effect.gen(function*() {
        const c = yield* client()
        const res = yield* c.serverStream.withResponse({ text: "meta", count: 2 }, { headers: requestHeaders })
        expect(res.headers["x-test-header"]).toBe("meta")
        const messages = yield* collect(res.messages)
        expect(messages.map((m) => m.text)).toEqual(["meta 0", "meta 1"])
        const trailers = yield* res.trailers
        expect(trailers["x-test-trailer"]).toBe("done")
        expect(trailers["x-test-header"]).toBeUndefined()
      }))

    it.scoped("client stream", () =>
      Effect.gen(function*() {
        const c = yield* client()
        const res = yield* c.clientStream.withResponse([{ text: "p" }, { text: "q" }], { headers: requestHeaders })
        expect(res.message.text).toBe("p,q")
        expect(res.message.headers).toEqual(echoed)
        expect(res.headers["x-test-header"]).toBe("p,q")
        expect(res.trailers["x-test-trailer"]).toBe("done")
      }))

    it.scoped("bidi stream", () =>
      Effect.gen(function*() {
        const c = yield* client("h2")
        const res = yield* c.bidiStream.withResponse([{ text: "b" }], { headers: requestHeaders })
        expect(res.headers["x-test-header"]).toBe("b")
        const messages = yield* collect(res.messages)
        expect(messages.map((m) => m.headers)).toEqual([echoed])
        expect((yield* res.trailers)["x-test-trailer"]).toBe("done")
      }))
  })

  describe("timeouts", () => {
    const delayMs = 2000
    const timeout = "200 millis"
    const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.gen(function*() {
        const start = Date.now()
        const error = yield* Effect.flip(effect)
        return { error, elapsed: Date.now() - start }
      })
    const expectDeadline = ({ elapsed, error }: { error: unknown; elapsed: number }) => {
      expect((error as ConnectError.ConnectError).code).toBe("deadline_exceeded")
      expect(elapsed).toBeGreaterThanOrEqual(150)
      // Well before the handler would answer; the margin is wide for a loaded machine's first calls.
      expect(elapsed).toBeLessThan(delayMs * 0.9)
    }

    it.scoped("unary", () =>
      Effect.gen(function*() {
        const c = yield* client()
        expectDeadline(yield* timed(c.echo({ text: "slow", delayMs }, { timeout })))
      }))

    it.scoped("server stream", () =>
      Effect.gen(function*() {
        const c = yield* client()
        expectDeadline(yield* timed(Stream.runDrain(c.serverStream({ text: "slow", count: 2, delayMs }, { timeout }))))
      }))

    it.scoped("server stream: the deadline covers the messages, not only the headers", () =>
      Effect.gen(function*() {
        const c = yield* client()
        const start = Date.now()
        const { error, received } = yield* collectUntilFailure(
          c.serverStream({ text: "drip", count: 50, delayMs: 100 }, { timeout: "450 millis" })
        )
        expect(error.code).toBe("deadline_exceeded")
        expect(received.length).toBeGreaterThanOrEqual(1)
        expect(received.length).toBeLessThan(50)
        expect(Date.now() - start).toBeLessThan(1500)
      }))

    it.scoped("client stream whose requests never end", () =>
      Effect.gen(function*() {
        const c = yield* client()
        expectDeadline(yield* timed(c.clientStream(Stream.concat(Stream.make({ text: "a" }), Stream.never), { timeout })))
      }))

    it.scoped("bidi stream", () =>
      Effect.gen(function*() {
        const c = yield* client("h2")
        expectDeadline(yield* timed(Stream.runDrain(c.bidiStream([{ text: "slow", delayMs }], { timeout }))))
      }))
  })
}
