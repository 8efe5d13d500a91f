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
import { decodeEnvelopes, EnvelopeReader, flagCompressed } from "../envelope.js"
import { baseUrlError, type ClientResponse, type HttpClientAdapter } from "../http.js"
import { envelopeMessage, envelopePayload, envelopeStream, parseMessage, streamingRequestBody } from "../messages.js"
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
   * How a call ended, once its body is over (`received`: whether any envelope came): its
   * trailers without the status fields, and its status as an error. A status in the headers
   * counts only when nothing else came (a trailers-only response).
   */
  const callEnd = (
    response: ClientResponse,
    fromTrailers: Headers.Headers | undefined,
    received: boolean
  ): ConnectError | { readonly trailers: Headers.Headers; readonly error: ConnectError | undefined } => {
    const trailersOnly = fromTrailers?.[P.headerStatus] === undefined && !received &&
      response.headers[P.headerStatus] !== undefined
    const fields = trailersOnly ? response.headers : fromTrailers
    if (fields === undefined) {
      return protocolError(web ? "missing trailers" : "the HTTP client cannot read trailers", response.headers)
    }
    return {
      trailers: Headers.unsafeFromRecord(withoutStatus(fields)),
      error: statusOf(fields, trailersOnly ? Headers.empty : response.headers)
    }
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
        const ended = callEnd(response, web ? trailers : yield* (response.trailers ?? Effect.succeed(undefined)), received)
        if (ended instanceof ConnectError) return Stream.fail(ended)
        yield* end(ended.trailers)
        return ended.error === undefined ? Stream.empty : Stream.fail(ended.error)
      }))
      return Stream.concat(messages, status)
    })
  }

  const cardinalityError = (count: "no" | "more than one", response: ClientResponse, trailers: Headers.Headers) =>
    new ConnectError({
      code: "unimplemented",
      message: `protocol error: a unary response has ${count} message`,
      metadata: Headers.merge(response.headers, trailers)
    })

  /**
   * A unary gRPC response read whole, with no Stream machinery (as the Connect client reads its
   * unary responses; through `responseMessages`, a call cost ten times the CPU in profiles): its
   * one message, then its end, each failure as `responseMessages` gives it. One envelope of at
   * most `readMaxBytes` fits in what is read; a longer body fails with resource_exhausted as soon
   * as it passes that, as an envelope announcing more would.
   */
  const unaryResponse = <A>(
    response: ClientResponse,
    decode: (bytes: Uint8Array) => Effect.Effect<A, ConnectError>
  ): Effect.Effect<UnaryResponse<A>, ConnectError> => {
    const head = readHead(response)
    if (head instanceof ConnectError) return Effect.fail(head)
    return Effect.gen(function*() {
      const reader = new EnvelopeReader(config.readMaxBytes)
      const body = yield* response.bytes(config.readMaxBytes + 5)
      const envelopes = yield* Effect.try({ try: () => reader.push(body), catch: (e) => e as ConnectError })
      const messages: Array<A> = []
      for (const envelope of envelopes) {
        messages.push(yield* Effect.flatMap(envelopePayload(envelope, head.compression, config.readMaxBytes), decode))
        if (messages.length > 1) return yield* Effect.fail(cardinalityError("more than one", response, Headers.empty))
      }
      yield* Effect.try({ try: () => reader.finish(), catch: (e) => e as ConnectError })
      const ended = callEnd(response, yield* (response.trailers ?? Effect.succeed(undefined)), envelopes.length > 0)
      if (ended instanceof ConnectError) return yield* Effect.fail(ended)
      if (ended.error !== undefined) return yield* Effect.fail(ended.error)
      if (messages.length === 0) return yield* Effect.fail(cardinalityError("no", response, ended.trailers))
      return { message: messages[0]!, headers: response.headers, trailers: ended.trailers }
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
      const decode = (bytes: Uint8Array) => parseMessage(codec.output, bytes)
      return Effect.flatMap(envelopeMessage(codec.input, request, config.sendCompression, config), (body) =>
        http.unary({ method: "POST", url: url(method), headers: requestHeaders(options), body }, (response) => {
          // gRPC-Web's status comes in the body, after the message: read as a stream of envelopes.
          if (!web) return unaryResponse(response, decode) as Effect.Effect<UnaryResponse<never>, ConnectError>
          let trailers = Headers.empty
          const messages = responseMessages(response, decode, (t) =>
            Effect.sync(() => {
              trailers = t
            }))
          return Effect.flatMap(Stream.runCollect(Stream.take(messages, 2)), (received) =>
            Chunk.size(received) === 1
              ? Effect.succeed<UnaryResponse<never>>({ message: Chunk.unsafeHead(received) as never, headers: response.headers, trailers })
              : Effect.fail(cardinalityError(Chunk.size(received) === 0 ? "no" : "more than one", response, trailers)))
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
      const body = envelopeStream(codec.input, requests, config.sendCompression, config).pipe(
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
