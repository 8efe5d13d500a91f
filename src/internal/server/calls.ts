/**
 * Pieces every protocol's server builds its calls from: the handler's deadline, the request's
 * messages as a Stream, and a streamed response that starts with the handler's first message.
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Compression } from "../compression.js"
import { ConnectError } from "../connectError.js"
import { type Deadline, deadlineAfter } from "../deadline.js"
import { decodeEnvelopes, decodeSingleEnvelope, type Envelope, flagEndStream } from "../envelope.js"
import type { ServerRequest, ServerResponse } from "../http.js"
import { envelopePayload, parseMessage } from "../messages.js"
import type { Serialization } from "../serialization.js"

/** @internal */
export const handlerDeadline = (timeoutMs: number | undefined): Deadline | undefined =>
  timeoutMs === undefined ? undefined : deadlineAfter(timeoutMs, "the handler exceeded the client's timeout of")

/**
 * Starts a streaming response once its first chunk is ready, so that the headers the handler
 * set before its first message are the ones sent.
 * @internal
 */
export const respondWhenReady = (
  body: Stream.Stream<Uint8Array>,
  headers: () => Record<string, string>
): Effect.Effect<ServerResponse, never, Scope.Scope> =>
  Effect.flatMap(Stream.toPull(body), (pull) =>
    Effect.map(
      Effect.catchAll(pull, () => Effect.succeed(Chunk.empty<Uint8Array>())),
      (first): ServerResponse => ({
        status: 200,
        headers: headers(),
        body: Stream.concat(Stream.fromChunk(first), Stream.repeatEffectChunkOption(pull))
      })
    ))

/** A request envelope's message bytes: clients never send an end-of-stream message. @internal */
export const requestPayload = (envelope: Envelope, compression: Compression | undefined, readMaxBytes: number) =>
  (envelope.flags & flagEndStream) !== 0
    ? Effect.fail(new ConnectError({ code: "invalid_argument", message: "protocol error: unexpected end of stream message from client" }))
    : envelopePayload(envelope, compression, readMaxBytes)

/** The request's messages, as they arrive. @internal */
export const requestStream = <A>(
  request: ServerRequest,
  compression: Compression | undefined,
  serialization: Serialization<A>,
  readMaxBytes: number
): Stream.Stream<A, ConnectError> =>
  request.body.pipe(
    decodeEnvelopes(readMaxBytes),
    Stream.mapEffect((envelope) =>
      Effect.flatMap(requestPayload(envelope, compression, readMaxBytes), (bytes) => parseMessage(serialization, bytes))
    )
  )

/** The one message of a request that has one, read whole: no Stream machinery. @internal */
export const singleRequest = <A>(
  request: ServerRequest,
  compression: Compression | undefined,
  serialization: Serialization<A>,
  readMaxBytes: number
): Effect.Effect<A, ConnectError> =>
  request.bytes(readMaxBytes + 5).pipe(
    Effect.flatMap((bytes) => {
      const envelope = decodeSingleEnvelope(bytes, readMaxBytes)
      return envelope instanceof ConnectError ? Effect.fail(envelope) : Effect.succeed(envelope)
    }),
    Effect.flatMap((envelope) => requestPayload(envelope, compression, readMaxBytes)),
    Effect.flatMap((bytes) => parseMessage(serialization, bytes))
  )
