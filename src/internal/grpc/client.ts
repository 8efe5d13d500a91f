/**
 * The client side of gRPC and gRPC-Web, on the universal HTTP model. Every call is a stream of
 * envelopes both ways; the status comes last, in HTTP trailers (gRPC, which so needs an HTTP
 * client that shows trailers: node:http2) or in a last envelope flagged 0x80 (gRPC-Web, which
 * runs on any HTTP client), or alone in the headers of a trailers-only response.
 * @internal
 */
import type { DescMessage, DescMethodStreaming, DescMethodUnary } from "@bufbuild/protobuf"
import * as Headers from "@effect/platform/Headers"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { fromHttpStatus } from "../code.js"
import type { ClientConfig } from "../client/options.js"
import { acceptEncodingValue, type Compression, findCompression } from "../compression.js"
import { ConnectError } from "../connectError.js"
import { decodeEnvelopes, flagCompressed } from "../envelope.js"
import { baseUrlError, type ClientResponse, type HttpClientAdapter } from "../http.js"
import { envelopeMessage, envelopePayload, parseMessage, streamingRequestBody } from "../messages.js"
import { methodCodec } from "../methodCodec.js"
import type { RequestOptions, StreamResponse, Transport, UnaryResponse } from "../transport.js"
import * as P from "./protocol.js"
import { statusFromHeaders, withoutStatus } from "./status.js"
import { decodeWebTrailers } from "./webTrailers.js"

const protocolError = (message: string, metadata?: Headers.Headers) =>
  new ConnectError({ code: "internal", message: `protocol error: ${message}`, ...(metadata === undefined ? {} : { metadata }) })

/** The call's status from its trailers: a missing `grpc-status` is a protocol error. */
const statusOf = (trailers: Headers.Headers, headers: Headers.Headers): ConnectError | undefined =>
  trailers[P.headerStatus] === undefined
    ? protocolError("missing grpc-status", Headers.merge(headers, trailers))
    : statusFromHeaders(trailers, Headers.merge(headers, trailers))

/** @internal */
export const makeGrpcTransport = (http: HttpClientAdapter, config: ClientConfig, web: boolean): Transport => {
  const baseUrl = config.baseUrl.replace(/\/+$/, "")
  const acceptEncoding = acceptEncodingValue(config.acceptCompression)

  const requestHeaders = (options: RequestOptions): Headers.Headers => {
    const headers: Record<string, string> = { ...options.headers }
    headers[P.headerContentType] = P.contentType(web, config.json)
    if (web) headers[P.headerWebUserAgent] ??= P.userAgent
    else headers.te = "trailers"
    headers[P.headerUserAgent] ??= P.userAgent
    if (options.timeoutMs !== undefined) headers[P.headerTimeout] = P.encodeTimeout(options.timeoutMs)
    if (acceptEncoding !== "") headers[P.headerAcceptEncoding] = acceptEncoding
    if (config.sendCompression !== undefined) headers[P.headerEncoding] = config.sendCompression.name
    return Headers.unsafeFromRecord(headers)
  }

  /**
   * What the response's headers say before any message: a failure (HTTP status, content type,
   * encoding), or how to read on. A status in the headers is only judged at the end: it counts
   * when nothing else came (a trailers-only response), and is ignored beside a body or trailers.
   */
  const readHead = (response: ClientResponse): ConnectError | { compression: Compression | undefined } => {
    const headers = response.headers
    if (response.status !== 200) {
      return new ConnectError({ code: fromHttpStatus(response.status), message: `HTTP ${response.status}`, metadata: headers })
    }
    const type = P.parseContentType(headers[P.headerContentType])
    if (type === undefined || type.web !== web || type.json !== config.json) {
      return new ConnectError({
        code: type === undefined ? "unknown" : "internal",
        message: `unexpected response content type "${headers[P.headerContentType] ?? ""}"`,
        metadata: headers
      })
    }
    const name = headers[P.headerEncoding]
    const compression = findCompression(config.acceptCompression, name)
    if (compression === null) {
      return new ConnectError({ code: "internal", message: `unsupported response encoding "${name}"`, metadata: headers })
    }
    return { compression }
  }

  /**
   * The response's messages, failing with the call's status when it is an error; `end` gets the
   * trailers (without the status fields) once they are known.
   */
  const responseMessages = <A>(
    response: ClientResponse,
    decode: (bytes: Uint8Array) => Effect.Effect<A, ConnectError>,
    end: (trailers: Headers.Headers) => Effect.Effect<void>
  ): Stream.Stream<A, ConnectError> => {
    const head = readHead(response)
    if (head instanceof ConnectError) return Stream.fail(head)
    const { compression } = head
    return Stream.suspend(() => {
      let trailers: Headers.Headers | undefined
      let received = false
      const messages = response.body.pipe(
        decodeEnvelopes(config.readMaxBytes),
        Stream.mapEffect((envelope): Effect.Effect<Option.Option<A>, ConnectError> => {
          received = true
          if (trailers !== undefined) return Effect.fail(protocolError("received data after the trailers"))
          if ((envelope.flags & P.flagTrailers) === 0 || !web) {
            return Effect.map(Effect.flatMap(envelopePayload(envelope, compression, config.readMaxBytes), decode), Option.some)
          }
          const payload = (envelope.flags & flagCompressed) === 0
            ? Effect.succeed(envelope.data)
            : envelopePayload(envelope, compression, config.readMaxBytes)
          return Effect.flatMap(payload, (bytes) => {
            const decoded = decodeWebTrailers(bytes)
            if (decoded instanceof ConnectError) return Effect.fail(decoded)
            trailers = decoded
            return Effect.succeed(Option.none())
          })
        }),
        Stream.filterMap((message) => message)
      )
      const status = Stream.unwrap(Effect.gen(function*() {
        const fromTrailers = web ? trailers : yield* (response.trailers ?? Effect.succeed(undefined))
        const trailersOnly = fromTrailers?.[P.headerStatus] === undefined && !received &&
          response.headers[P.headerStatus] !== undefined
        const fields = trailersOnly ? response.headers : fromTrailers
        if (fields === undefined) {
          return Stream.fail(protocolError(web ? "missing trailers" : "the HTTP client cannot read trailers", response.headers))
        }
        yield* end(Headers.unsafeFromRecord(withoutStatus(fields)))
        const error = statusOf(fields, trailersOnly ? Headers.empty : response.headers)
        return error === undefined ? Stream.empty : Stream.fail(error)
      }))
      return Stream.concat(messages, status)
    })
  }

  const url = (method: { readonly parent: { readonly typeName: string }; readonly name: string }) =>
    `${baseUrl}/${method.parent.typeName}/${method.name}`

  const unary = <I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: unknown,
    options: RequestOptions
  ) =>
    Effect.suspend(() => {
      const codec = methodCodec(method, config.json)
      return Effect.flatMap(envelopeMessage(codec.input, request, config.sendCompression, config), (body) =>
        http.unary({ method: "POST", url: url(method), headers: requestHeaders(options), body }, (response) => {
          let trailers = Headers.empty
          const messages = responseMessages(response, (bytes) => parseMessage(codec.output, bytes), (t) =>
            Effect.sync(() => {
              trailers = t
            }))
          return Effect.flatMap(Stream.runCollect(Stream.take(messages, 2)), (received) =>
            Chunk.size(received) === 1
              ? Effect.succeed<UnaryResponse<never>>({ message: Chunk.unsafeHead(received) as never, headers: response.headers, trailers })
              : Effect.fail(
                new ConnectError({
                  code: "unimplemented",
                  message: `protocol error: a unary response has ${Chunk.size(received) === 0 ? "no" : "more than one"} message`,
                  metadata: Headers.merge(response.headers, trailers)
                })
              ))
        }))
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
      const body = Stream.mapEffect(requests, (message) => envelopeMessage(codec.input, message, config.sendCompression, config)).pipe(
        Stream.tapError((e) => Effect.sync(() => refusal = e))
      )
      const response = yield* http.stream({
        method: "POST",
        url: url(method),
        headers: requestHeaders(options),
        body: yield* streamingRequestBody(method.methodKind, body)
      }).pipe(
        Effect.mapError(preferRefusal)
      )
      const trailers = yield* Deferred.make<Headers.Headers>()
      const messages = responseMessages(response, (bytes) => parseMessage(codec.output, bytes), (t) => Deferred.succeed(trailers, t)).pipe(
        Stream.mapError(preferRefusal),
        Stream.ensuring(Deferred.succeed(trailers, Headers.empty))
      )
      const result: StreamResponse<unknown> = { headers: response.headers, messages, trailers: Deferred.await(trailers) }
      return result
    })

  const invalid = baseUrlError(config.baseUrl)
  if (invalid !== undefined) {
    return { unary: () => Effect.fail(invalid), stream: () => Effect.fail(invalid) } as unknown as Transport
  }
  return { unary, stream } as unknown as Transport
}
