/**
 * Sending and receiving one message, the same on both sides of every protocol: serialize and
 * hold to writeMaxBytes, compress when worth it, frame; unframe, decompress, parse.
 * @internal
 */
import type { DescMethodStreaming } from "@bufbuild/protobuf"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { collectBounded } from "./bytes.js"
import type { Compression } from "./compression.js"
import { ConnectError } from "./connectError.js"
import { encodeEnvelope, type Envelope, flagCompressed } from "./envelope.js"
import type { Body } from "./http.js"
import { SizedWriter } from "./protobufBinary.js"
import type { Serialization } from "./serialization.js"

/** @internal */
export interface WriteLimits {
  readonly writeMaxBytes: number
  readonly compressMinBytes: number
}

/**
 * The request body of a streaming call, its messages already framed. A server-streaming call's
 * one message goes whole, with a known length: a stream costs chunked encoding, and browsers
 * send one only over HTTP/2.
 * @internal
 */
export const streamingRequestBody = (
  kind: DescMethodStreaming["methodKind"],
  framed: Stream.Stream<Uint8Array, ConnectError>
): Effect.Effect<Body, ConnectError> =>
  kind === "server_streaming" ? collectBounded(framed, Number.MAX_SAFE_INTEGER) : Effect.succeed(framed)

/** @internal */
export const serializeMessage = (
  serialization: Serialization<unknown>,
  message: unknown,
  writeMaxBytes: number
): Effect.Effect<Uint8Array, ConnectError> => {
  let bytes: Uint8Array
  try {
    bytes = serialization.serialize(message)
  } catch (e) {
    return Effect.fail(e as ConnectError)
  }
  return bytes.byteLength > writeMaxBytes
    ? Effect.fail(
      new ConnectError({
        code: "resource_exhausted",
        message: `message size ${bytes.byteLength} is larger than configured writeMaxBytes ${writeMaxBytes}`
      })
    )
    : Effect.succeed(bytes)
}

/** The compression to apply to a payload of this size, if any. @internal */
export const worthCompressing = (
  compression: Compression | undefined,
  size: number,
  compressMinBytes: number
): Compression | undefined => (compression !== undefined && size >= compressMinBytes ? compression : undefined)

/** One message as an envelope, compressed when worth it. @internal */
export const envelopeMessage = (
  serialization: Serialization<unknown>,
  message: unknown,
  compression: Compression | undefined,
  limits: WriteLimits
): Effect.Effect<Uint8Array, ConnectError> => {
  const framed = frameSized(serialization, [message], compression, limits)
  if (framed !== undefined) return Effect.succeed(framed)
  return Effect.flatMap(serializeMessage(serialization, message, limits.writeMaxBytes), (bytes) => {
    const use = worthCompressing(compression, bytes.byteLength, limits.compressMinBytes)
    return use === undefined
      ? Effect.succeed(encodeEnvelope(0, bytes))
      : Effect.map(use.compress(bytes), (compressed) => encodeEnvelope(flagCompressed, compressed))
  })
}

/**
 * Messages as envelopes in one buffer of their exact size, each written in place after its
 * prefix; undefined when one needs more than framing (JSON, a message the sized encoder
 * declines, one over writeMaxBytes or worth compressing, one that fails to encode): the general
 * path then writes them, or fails with the reason.
 */
const frameSized = (
  serialization: Serialization<unknown>,
  messages: Iterable<unknown>,
  compression: Compression | undefined,
  limits: WriteLimits
): Uint8Array | undefined => {
  const sized = serialization.sized
  if (sized === undefined) return undefined
  const values: Array<unknown> = []
  const lengths: Array<number> = []
  const sizes: Array<number> = []
  let total = 0
  try {
    for (const message of messages) {
      const value = sized.toMessage(message)
      const length = sized.encoder.measure(value, sizes)
      if (length < 0 || length > limits.writeMaxBytes || worthCompressing(compression, length, limits.compressMinBytes)) {
        return undefined
      }
      values.push(value)
      lengths.push(length)
      total += length + 5
    }
  } catch {
    return undefined
  }
  const writer = new SizedWriter(new Uint8Array(total), 0, sizes)
  const view = writer.dataView()
  for (let i = 0; i < values.length; i++) {
    view.setUint32(writer.pos + 1, lengths[i]!)
    writer.pos += 5
    sized.encoder.write(values[i], writer)
  }
  return writer.bytes
}

/**
 * A chunk of messages as envelopes, framed into one buffer when none needs compressing: one
 * allocation and one Effect per chunk rather than per message.
 * @internal
 */
export const envelopeChunk = (
  serialization: Serialization<unknown>,
  messages: Chunk.Chunk<unknown>,
  compression: Compression | undefined,
  limits: WriteLimits
): Effect.Effect<Chunk.Chunk<Uint8Array>, ConnectError> => {
  if (Chunk.isEmpty(messages)) return Effect.succeed(Chunk.empty())
  const sized = frameSized(serialization, messages, compression, limits)
  if (sized !== undefined) return Effect.succeed(Chunk.of(sized))
  const payloads: Array<Uint8Array> = []
  let size = 0
  for (const message of messages) {
    let bytes: Uint8Array
    try {
      bytes = serialization.serialize(message)
    } catch (e) {
      return Effect.fail(e as ConnectError)
    }
    if (bytes.byteLength > limits.writeMaxBytes || worthCompressing(compression, bytes.byteLength, limits.compressMinBytes)) {
      // The rare message that needs more than framing: the whole chunk takes the general path.
      return Effect.map(
        Effect.forEach(messages, (m) => envelopeMessage(serialization, m, compression, limits)),
        Chunk.unsafeFromArray
      )
    }
    payloads.push(bytes)
    size += bytes.byteLength + 5
  }
  const framed = new Uint8Array(size)
  const view = new DataView(framed.buffer)
  let offset = 0
  for (const bytes of payloads) {
    view.setUint32(offset + 1, bytes.byteLength)
    framed.set(bytes, offset + 5)
    offset += bytes.byteLength + 5
  }
  return Effect.succeed(Chunk.of(framed))
}

/**
 * An envelope's payload, decompressed with the stream's negotiated compression. An empty payload
 * is the empty message even when flagged compressed (given an encoding): some compressors
 * (grpc-go's zstd) write nothing for empty input, and connect-go reads it so too.
 * @internal
 */
export const envelopePayload = (
  envelope: Envelope,
  compression: Compression | undefined,
  readMaxBytes: number
): Effect.Effect<Uint8Array, ConnectError> => {
  if ((envelope.flags & flagCompressed) === 0) return Effect.succeed(envelope.data)
  if (compression === undefined) {
    return Effect.fail(new ConnectError({ code: "internal", message: "protocol error: received a compressed message without an encoding" }))
  }
  return envelope.data.byteLength === 0 ? Effect.succeed(envelope.data) : compression.decompress(envelope.data, readMaxBytes)
}

/** A whole unary body, decompressed; an empty body is the empty message, never compressed data. @internal */
export const bodyPayload = (
  bytes: Uint8Array,
  compression: Compression | undefined,
  readMaxBytes: number
): Effect.Effect<Uint8Array, ConnectError> =>
  compression === undefined || bytes.byteLength === 0
    ? Effect.succeed(bytes)
    : compression.decompress(bytes, readMaxBytes)

/** @internal */
export const parseMessage = <A>(serialization: Serialization<A>, bytes: Uint8Array): Effect.Effect<A, ConnectError> => {
  try {
    return Effect.succeed(serialization.parse(bytes))
  } catch (e) {
    return Effect.fail(e as ConnectError)
  }
}

/**
 * A stream of messages as envelopes, each chunk of them in one buffer (`envelopeChunk`): messages
 * that are ready together go out in one write.
 * @internal
 */
export const envelopeStream = <E>(
  serialization: Serialization<unknown>,
  messages: Stream.Stream<unknown, E>,
  compression: Compression | undefined,
  limits: WriteLimits
): Stream.Stream<Uint8Array, E | ConnectError> =>
  Stream.mapChunksEffect(messages, (chunk) => envelopeChunk(serialization, chunk, compression, limits))
