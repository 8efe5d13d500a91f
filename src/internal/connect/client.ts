/**
 * The client side of the Connect protocol, on the universal HTTP model.
 * @internal
 */
import type { DescMessage, DescMethodStreaming, DescMethodUnary } from "@bufbuild/protobuf"
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt"
import * as Headers from "@effect/platform/Headers"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { fromHttpStatus } from "../code.js"
import type { Compression } from "../compression.js"
import { ConnectError } from "../connectError.js"
import type { RequestOptions, StreamResponse, Transport, UnaryResponse } from "../transport.js"
import { acceptEncodingValue, findCompression } from "../compression.js"
import { decodeEnvelopes, flagEndStream } from "../envelope.js"
import { baseUrlError, type ClientResponse, type HttpClientAdapter } from "../http.js"
import {
  bodyPayload,
  envelopeStream,
  envelopePayload,
  parseMessage,
  serializeMessage,
  streamingRequestBody,
  worthCompressing
} from "../messages.js"
import { methodCodec } from "../methodCodec.js"
import { type EndStream, endStreamFromJsonBytes, errorFromJsonBytes } from "./errorJson.js"
import { encodeGetQuery } from "./get.js"
import * as P from "./protocol.js"
import type { ClientConfig } from "../client/options.js"

const splitTrailers = (all: Headers.Headers): { headers: Headers.Headers; trailers: Headers.Headers } => {
  const headers: Record<string, string> = {}
  const trailers: Record<string, string> = {}
  for (const name in all) {
    if (name.startsWith(P.trailerPrefix)) trailers[name.slice(P.trailerPrefix.length)] = all[name]!
    else headers[name] = all[name]!
  }
  return { headers: Headers.unsafeFromRecord(headers), trailers: Headers.unsafeFromRecord(trailers) }
}

/** @internal */
export const makeConnectTransport = (http: HttpClientAdapter, config: ClientConfig): Transport => {
  const baseUrl = config.baseUrl.replace(/\/+$/, "")
  const acceptEncoding = acceptEncodingValue(config.acceptCompression)

  const requestHeaders = (stream: boolean, options: RequestOptions, get: boolean): Record<string, string> => {
    const headers: Record<string, string> = { ...options.headers }
    if (!get) headers[P.headerContentType] = P.contentType(stream, config.json)
    headers[P.headerProtocolVersion] = P.protocolVersion
    headers[P.headerUserAgent] ??= P.userAgent
    if (options.timeoutMs !== undefined) headers[P.headerTimeout] = P.encodeTimeout(options.timeoutMs)
    if (acceptEncoding !== "") {
      headers[stream ? P.headerStreamAcceptEncoding : P.headerUnaryAcceptEncoding] = acceptEncoding
    }
    if (stream && config.sendCompression !== undefined) headers[P.headerStreamEncoding] = config.sendCompression.name
    return headers
  }

  const responseCompression = (response: ClientResponse, header: string): Compression | undefined | ConnectError => {
    if (header === P.headerUnaryEncoding && response.contentDecoded === true) return undefined
    const name = response.headers[header]
    const compression = findCompression(config.acceptCompression, name)
    return compression === null
      ? new ConnectError({ code: "internal", message: `unsupported response encoding "${name}"`, metadata: response.headers })
      : compression
  }

  /**
   * A response that is not Connect at all is `unknown`; a Connect response of the wrong codec
   * or kind is `internal` (as the conformance suite expects).
   */
  const contentTypeError = (response: ClientResponse, stream: boolean): ConnectError | undefined => {
    const value = response.headers[P.headerContentType]
    const type = P.parseContentType(value)
    if (type !== undefined && type.stream === stream && type.json === config.json) return undefined
    return new ConnectError({
      code: type === undefined ? "unknown" : "internal",
      message: `unexpected response content type "${value ?? ""}"`,
      metadata: response.headers
    })
  }

  /** The error of a response whose status is not 200, from its JSON body when it has one. */
  const unaryError = (response: ClientResponse, compression: Compression | undefined) => {
    const { headers, trailers } = splitTrailers(response.headers)
    const metadata = Headers.merge(headers, trailers)
    const fromStatus = new ConnectError({
      code: fromHttpStatus(response.status),
      message: `HTTP ${response.status}`,
      metadata
    })
    const type = P.parseContentType(response.headers[P.headerContentType])
    if (type === undefined || !type.json || type.stream) {
      return Effect.fail(fromStatus)
    }
    return response.bytes(config.readMaxBytes).pipe(
      Effect.flatMap((bytes) => bodyPayload(bytes, compression, config.readMaxBytes)),
      Effect.map((bytes) => errorFromJsonBytes(bytes, metadata, fromStatus.code) ?? fromStatus),
      Effect.orElseSucceed(() => fromStatus),
      Effect.flatMap(Effect.fail)
    )
  }

  const unary = <I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: unknown,
    options: RequestOptions
  ) =>
    Effect.suspend(() => {
      const codec = methodCodec(method, config.json)
      const get = config.useHttpGet && method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS
      const headers = requestHeaders(false, options, get)
      const url = `${baseUrl}/${method.parent.typeName}/${method.name}`
      const receive = (response: ClientResponse): Effect.Effect<UnaryResponse<never>, ConnectError> => {
        const encoding = responseCompression(response, P.headerUnaryEncoding)
        if (encoding instanceof ConnectError) return Effect.fail(encoding)
        if (response.status !== 200) return unaryError(response, encoding)
        const typeError = contentTypeError(response, false)
        if (typeError !== undefined) return Effect.fail(typeError)
        return response.bytes(config.readMaxBytes).pipe(
          Effect.flatMap((bytes) => bodyPayload(bytes, encoding, config.readMaxBytes)),
          Effect.flatMap((bytes) => parseMessage(codec.output, bytes)),
          Effect.map((message) => ({ message: message as never, ...splitTrailers(response.headers) }))
        )
      }
      const send = (payload: Uint8Array, compression: Compression | undefined) => {
        if (!get && compression !== undefined) headers[P.headerUnaryEncoding] = compression.name
        return http.unary(
          get
            ? { method: "GET", url: `${url}?${encodeGetQuery(payload, config.json, compression?.name)}`, headers: Headers.unsafeFromRecord(headers), body: undefined }
            : { method: "POST", url, headers: Headers.unsafeFromRecord(headers), body: payload },
          receive
        )
      }
      return Effect.flatMap(serializeMessage(codec.input, request, config.writeMaxBytes), (body) => {
        const compression = worthCompressing(config.sendCompression, body.byteLength, config.compressMinBytes)
        return compression === undefined
          ? send(body, undefined)
          : Effect.flatMap(compression.compress(body), (compressed) => send(compressed, compression))
      })
    })

  const stream = <I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    requests: Stream.Stream<unknown, ConnectError>,
    options: RequestOptions
  ) =>
    Effect.gen(function*() {
      const codec = methodCodec(method, config.json)
      // A request the client refuses to send aborts the exchange; the call then fails with the
      // refusal, not with the transport's view of the abort.
      let refusal: ConnectError | undefined
      const preferRefusal = (error: ConnectError) => refusal ?? error
      const encoded = envelopeStream(codec.input, requests, config.sendCompression, config)
      const body = Stream.tapError(encoded, (e) => Effect.sync(() => refusal = e))
      const response = yield* http.stream({
        method: "POST",
        url: `${baseUrl}/${method.parent.typeName}/${method.name}`,
        headers: Headers.unsafeFromRecord(requestHeaders(true, options, false)),
        body: yield* streamingRequestBody(method.methodKind, body)
      }).pipe(Effect.mapError(preferRefusal))
      if (response.status !== 200) {
        return yield* unaryError(response, undefined)
      }
      const typeError = contentTypeError(response, true)
      if (typeError !== undefined) return yield* Effect.fail(typeError)
      const encoding = responseCompression(response, P.headerStreamEncoding)
      if (encoding instanceof ConnectError) return yield* Effect.fail(encoding)
      const trailers = yield* Deferred.make<Headers.Headers>()
      const messages = Stream.suspend(() => {
        let end: EndStream | undefined
        return response.body.pipe(
          decodeEnvelopes(config.readMaxBytes),
          Stream.mapEffect((envelope): Effect.Effect<Option.Option<unknown>, ConnectError> => {
            if (end !== undefined) {
              return Effect.fail(new ConnectError({ code: "internal", message: "protocol error: received data after end of stream" }))
            }
            return Effect.flatMap(envelopePayload(envelope, encoding, config.readMaxBytes), (bytes) => {
              if ((envelope.flags & flagEndStream) === 0) return Effect.map(parseMessage(codec.output, bytes), Option.some)
              try {
                end = endStreamFromJsonBytes(bytes)
              } catch (e) {
                return Effect.fail(e as ConnectError)
              }
              return Effect.succeed(Option.none())
            })
          }),
          Stream.filterMap((o) => o),
          Stream.concat(Stream.suspend(() => {
            if (end === undefined) {
              return Stream.fail(new ConnectError({ code: "internal", message: "protocol error: missing end of stream message" }))
            }
            if (end.error === undefined) return Stream.empty
            // Like a unary error, a stream's error carries the response's headers and trailers.
            const { code, message, details, cause } = end.error
            return Stream.fail(new ConnectError({ code, message, details, cause, metadata: Headers.merge(response.headers, end.trailers) }))
          })),
          Stream.mapError(preferRefusal),
          Stream.ensuring(Effect.suspend(() => Deferred.succeed(trailers, end?.trailers ?? Headers.empty)))
        )
      })
      const result: StreamResponse<unknown> = {
        headers: response.headers,
        messages,
        trailers: Deferred.await(trailers)
      }
      return result
    })

  const invalid = baseUrlError(config.baseUrl)
  if (invalid !== undefined) {
    return { unary: () => Effect.fail(invalid), stream: () => Effect.fail(invalid) } as unknown as Transport
  }
  return { unary, stream } as unknown as Transport
}
