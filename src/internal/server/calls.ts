/**
 * Pieces every protocol's server builds its calls from: the handler's deadline, the request's
 * messages as a Stream, and a streamed response that starts with the handler's first message.
 * @internal
 */
import type { DescMethod } from "@bufbuild/protobuf"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { concatBytes } from "../bytes.js"
import type { Compression } from "../compression.js"
import { ConnectError } from "../connectError.js"
import { type Deadline, deadlineAfter, effectWithin, pullWithin } from "../deadline.js"
import { decodeEnvelopes, decodeSingleEnvelope, type Envelope, envelopeHead, flagEndStream } from "../envelope.js"
import type { PulledBody, ServerRequest, ServerResponse } from "../http.js"
import { failWhenIdle } from "../idle.js"
import { envelopeChunk, envelopePayload, parseMessage } from "../messages.js"
import type { MethodCodec } from "../methodCodec.js"
import type { Serialization } from "../serialization.js"
import { errorOfCause } from "./failure.js"
import type { ServerConfig } from "./protocol.js"
import type { HandlerContext, MethodImplementation } from "./service.js"

/**
 * A call's deadline: the client's timeout, or the server's `handlerTimeoutMs` when the client
 * sent none or a longer one. The handler sees it as its deadline either way.
 * @internal
 */
export const callDeadline = (clientTimeoutMs: number | undefined, config: ServerConfig): Deadline | undefined => {
  const serverMs = config.handlerTimeoutMs
  if (serverMs !== undefined && (clientTimeoutMs === undefined || serverMs < clientTimeoutMs)) {
    return deadlineAfter(serverMs, "the handler exceeded the server's handlerTimeoutMs of")
  }
  return clientTimeoutMs === undefined ? undefined : deadlineAfter(clientTimeoutMs, "the handler exceeded the client's timeout of")
}

/**
 * The answer to a call that arrives while the server shuts down, or is still running when the
 * shutdown's grace is over: unavailable, which clients may retry elsewhere.
 * @internal
 */
export const serverShuttingDown = new ConnectError({ code: "unavailable", message: "the server is shutting down" })

/** A streamed call's response, as `respondStreaming` builds it. @internal */
export interface StreamedCall {
  /** The handler's messages; a failure here (a bad request) is the call's error. */
  readonly responses: Effect.Effect<Stream.Stream<unknown, unknown>, unknown>
  /** Messages to the bytes that carry them (envelopes). */
  readonly encode: (messages: Chunk.Chunk<unknown>) => Effect.Effect<Chunk.Chunk<Uint8Array>, unknown>
  readonly deadline: Deadline | undefined
  /** The response headers, asked for once the first messages (or the end) are known. */
  readonly headers: () => Record<string, string>
  /** The bytes after the last message, given the call's error if it failed (gRPC has none). */
  readonly end: (error: ConnectError | undefined) => Uint8Array | undefined
  /** The HTTP trailers, given the call's error if it failed (gRPC). */
  readonly trailers?: ((error: ConnectError | undefined) => Record<string, string>) | undefined
  /**
   * The whole response, in headers alone, of a call that failed before its first message, when
   * the protocol answers so (gRPC's trailers-only); undefined to answer with headers and trailers.
   */
  readonly trailersOnly?: ((error: ConnectError) => Record<string, string> | undefined) | undefined
}

/**
 * The response of a call that ended before its first message: written at once, with no pulls.
 * A client may stop sending its request when it sees the headers, and a gRPC status sent a moment
 * later could meet a reset instead (node:http2 resets a stream whose request ended short of its
 * Content-Length, as connect-go's gRPC client ends one).
 */
const answeredAtOnce = (call: StreamedCall, error: ConnectError | undefined, last: Chunk.Chunk<Uint8Array>): ServerResponse => {
  const only = error === undefined ? undefined : call.trailersOnly?.(error)
  if (only !== undefined) return { status: 200, headers: only, body: undefined }
  const trailers = call.trailers
  return {
    status: 200,
    headers: call.headers(),
    body: concatBytes(last),
    ...(trailers === undefined ? {} : { trailers: () => trailers(error) })
  }
}

/**
 * A streamed response, started once its first messages are ready (so that the headers the
 * handler set before its first message are the ones sent). The handler's Stream is pulled by the
 * response's writer: a handler's failure becomes the call's error, sent after the last message;
 * only interruption ends the response otherwise.
 * @internal
 */
export const respondStreaming = (call: StreamedCall, scope: Scope.Scope): Effect.Effect<ServerResponse> =>
  Scope.extend(streamedResponse(call), scope)

const streamedResponse = (call: StreamedCall): Effect.Effect<ServerResponse, never, Scope.Scope> =>
  Effect.gen(function*() {
    let error: ConnectError | undefined
    let ended = false
    /** The bytes that end the body (none for gRPC), the call's error noted for its trailers. */
    const close = (failure: ConnectError | undefined): Chunk.Chunk<Uint8Array> => {
      ended = true
      error = failure
      const last = call.end(failure)
      return last === undefined ? Chunk.empty() : Chunk.of(last)
    }
    const finish = (failure: ConnectError | undefined): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<never>> => {
      const last = close(failure)
      return Chunk.isEmpty(last) ? Effect.fail(Option.none()) : Effect.succeed(last)
    }
    const failed = (cause: Cause.Cause<unknown>): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<never>> =>
      Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.flatMap(errorOfCause(cause), finish)
    let pull: Effect.Effect<Chunk.Chunk<unknown>, Option.Option<unknown>> = Effect.fail(Option.none())
    const next = Effect.suspend(() =>
      ended
        ? Effect.fail(Option.none())
        : Effect.matchCauseEffect(pullWithin(pull, call.deadline), {
          onFailure: (cause) => {
            const failure = Cause.flipCauseOption(cause)
            return Option.isNone(failure) ? finish(undefined) : failed(failure.value)
          },
          onSuccess: (messages) => Effect.catchAllCause(call.encode(messages), failed)
        })
    )
    const opened = yield* Effect.exit(effectWithin(Effect.flatMap(call.responses, Stream.toPull), call.deadline))
    if (Exit.isSuccess(opened)) pull = opened.value
    const first = yield* Effect.exit(Exit.isSuccess(opened) ? next : failed(opened.cause))
    if (Exit.isFailure(first)) {
      const interrupted = Cause.flipCauseOption(first.cause)
      if (Option.isSome(interrupted)) return yield* Effect.failCause(interrupted.value)
    }
    let pending = Exit.isSuccess(first) ? first.value : undefined
    if (ended) return answeredAtOnce(call, error, pending ?? Chunk.empty())
    const body: PulledBody = {
      pull: Effect.suspend(() => {
        if (pending === undefined) return next
        const chunk = pending
        pending = undefined
        return Effect.succeed(chunk)
      }),
      end: (failure) => ended ? Chunk.empty() : close(failure)
    }
    const trailers = call.trailers
    return {
      status: 200,
      headers: call.headers(),
      body,
      ...(trailers === undefined ? {} : { trailers: () => trailers(error) })
    }
  })

/** A request envelope's message bytes: clients never send an end-of-stream message. @internal */
export const requestPayload = (envelope: Envelope, compression: Compression | undefined, readMaxBytes: number) =>
  (envelope.flags & flagEndStream) !== 0
    ? Effect.fail(new ConnectError({ code: "invalid_argument", message: "protocol error: unexpected end of stream message from client" }))
    : envelopePayload(envelope, compression, readMaxBytes)

/**
 * The request's messages, as they arrive. A body that stalls fails them (`readIdleTimeoutMs`):
 * anywhere in it when it is one message (unary, server streaming) or declares its length (the
 * client has it all at hand), and otherwise only in the middle of a message, since a client or
 * bidi stream may wait as long as it likes between messages.
 * @internal
 */
export const requestStream = <A>(
  request: ServerRequest,
  kind: DescMethod["methodKind"],
  compression: Compression | undefined,
  serialization: Serialization<A>,
  config: ServerConfig
): Stream.Stream<A, ConnectError> => {
  const { readMaxBytes, readIdleTimeoutMs: idleMs } = config
  const whole = kind === "unary" || kind === "server_streaming" || request.headers["content-length"] !== undefined
  const body = idleMs !== undefined && whole ? failWhenIdle(request.body, idleMs, () => true) : request.body
  return body.pipe(
    decodeEnvelopes(readMaxBytes, whole ? undefined : idleMs),
    Stream.mapEffect((envelope) =>
      Effect.flatMap(requestPayload(envelope, compression, readMaxBytes), (bytes) => parseMessage(serialization, bytes))
    )
  )
}

/** The one message of a request that has one, read whole: no Stream machinery. @internal */
export const singleRequest = <A>(
  request: ServerRequest,
  compression: Compression | undefined,
  serialization: Serialization<A>,
  config: ServerConfig
): Effect.Effect<A, ConnectError> =>
  request.bytes(config.readMaxBytes + 5, { head: envelopeHead(config.readMaxBytes), idleMs: config.readIdleTimeoutMs }).pipe(
    Effect.flatMap((bytes) => {
      const envelope = decodeSingleEnvelope(bytes, config.readMaxBytes)
      return envelope instanceof ConnectError ? Effect.fail(envelope) : Effect.succeed(envelope)
    }),
    Effect.flatMap((envelope) => requestPayload(envelope, compression, config.readMaxBytes)),
    Effect.flatMap((bytes) => parseMessage(serialization, bytes))
  )

/**
 * A streamed call's messages and their encoding, for `respondStreaming`: a server-streaming
 * handler's from its one request, read whole (no request Stream: over h2c, where clients send no
 * Content-Length, streaming it cost a call a third of its CPU); any other's from the request's
 * messages as they arrive; or, when the request was refused before the handler (`checked`), that
 * refusal.
 * @internal
 */
export const handlerMessages = (
  impl: MethodImplementation,
  ctx: HandlerContext,
  request: ServerRequest,
  checked: { readonly compression: Compression | undefined } | ConnectError,
  codec: MethodCodec,
  responseCompression: Compression | undefined,
  config: ServerConfig
): Pick<StreamedCall, "responses" | "encode"> => {
  const encode = (messages: Chunk.Chunk<unknown>) => envelopeChunk(codec.output, messages, responseCompression, config)
  if (checked instanceof ConnectError) return { responses: Effect.fail(checked), encode }
  const { compression } = checked
  const single = impl.serverStreaming
  const responses = single !== undefined
    ? Effect.map(singleRequest(request, compression, codec.input, config), (message) => single(message, ctx))
    : Effect.succeed(impl.streaming(requestStream(request, impl.method.methodKind, compression, codec.input, config), ctx))
  return { responses, encode }
}
