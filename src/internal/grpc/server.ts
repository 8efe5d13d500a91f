/**
 * The server side of gRPC and gRPC-Web, on the universal HTTP model. Both frame every message
 * in an envelope and end with the call's status; gRPC sends it as HTTP trailers, gRPC-Web as a
 * last envelope flagged 0x80. A unary call that fails is answered "trailers-only": the status
 * in the response headers, and no body.
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type Compression, acceptEncodingValue, findCompression, negotiateCompression } from "../compression.js"
import { concatBytes } from "../bytes.js"
import { ConnectError } from "../connectError.js"
import { effectWithin } from "../deadline.js"
import { encodeEnvelope } from "../envelope.js"
import type { ServerRequest, ServerResponse } from "../http.js"
import { envelopeMessage } from "../messages.js"
import { methodCodec } from "../methodCodec.js"
import { callDeadline, handlerMessages, respondStreaming, singleRequest } from "../server/calls.js"
import { errorOfCause } from "../server/failure.js"
import { HandlerContextImpl } from "../server/handlerContext.js"
import type { ServerConfig, ServerProtocol } from "../server/protocol.js"
import type { MethodImplementation } from "../server/service.js"
import * as P from "./protocol.js"
import { statusToHeaders } from "./status.js"
import { encodeWebTrailers } from "./webTrailers.js"

const plain = (status: number, headers: Record<string, string>): ServerResponse => ({ status, headers, body: undefined })

/** The checks before the handler runs: the timeout and the request's compression. */
const preamble = (
  request: ServerRequest,
  config: ServerConfig
): { timeoutMs: number | undefined; compression: Compression | undefined } | ConnectError => {
  const timeoutMs = P.parseTimeout(request.headers[P.headerTimeout])
  if (timeoutMs instanceof ConnectError) return timeoutMs
  const name = request.headers[P.headerEncoding]
  const compression = findCompression(config.acceptCompression, name)
  if (compression === null) {
    return new ConnectError({
      code: "unimplemented",
      message: `unknown compression "${name}": supported encodings are ${acceptEncodingValue(config.acceptCompression) || "identity"}`
    })
  }
  return { timeoutMs, compression }
}

/** A failed unary call's response: trailers-only, the handler's headers with the status. */
const trailersOnly = (
  cause: Cause.Cause<unknown>,
  headers: () => Record<string, string>,
  trailers: (error: ConnectError | undefined) => Record<string, string>
): Effect.Effect<ServerResponse> =>
  Cause.isInterruptedOnly(cause)
    ? Effect.failCause(cause as Cause.Cause<never>)
    : Effect.map(errorOfCause(cause), (error) => plain(200, { ...headers(), ...trailers(error) }))

/**
 * The response to a unary call, whose one message (`exchange`, an envelope) is known before a
 * byte is written: no Stream machinery, which cost a unary call five times its CPU in profiles.
 * gRPC sends the status in HTTP trailers, gRPC-Web in an envelope after the message.
 */
const respondUnary = (
  web: boolean,
  exchange: Effect.Effect<Uint8Array, unknown>,
  headers: () => Record<string, string>,
  trailers: (error: ConnectError | undefined) => Record<string, string>
): Effect.Effect<ServerResponse> =>
  Effect.matchCauseEffect(exchange, {
    onFailure: (cause) => trailersOnly(cause, headers, trailers),
    onSuccess: (message): Effect.Effect<ServerResponse> => {
      if (!web) return Effect.succeed({ status: 200, headers: headers(), body: message, trailers: () => trailers(undefined) })
      const end = encodeEnvelope(P.flagTrailers, encodeWebTrailers(trailers(undefined)))
      return Effect.succeed({ status: 200, headers: headers(), body: concatBytes([message, end]) })
    }
  })

const serve = (web: boolean) =>
(
  impl: MethodImplementation,
  request: ServerRequest,
  config: ServerConfig,
  scope: Scope.Scope
): Effect.Effect<ServerResponse> => {
  if (request.method !== "POST") return Effect.succeed(plain(405, { allow: "POST" }))
  const type = P.parseContentType(request.headers[P.headerContentType])
  if (type === undefined || type.web !== web) return Effect.succeed(plain(415, {}))
  const checked = preamble(request, config)
  const deadline = checked instanceof ConnectError ? undefined : callDeadline(checked.timeoutMs, config)
  const ctx = new HandlerContextImpl(impl.method, request.headers, deadline, request.connection, config.shuttingDown)
  const responseCompression = negotiateCompression(config.acceptCompression, request.headers[P.headerAcceptEncoding])
  const headers = () => {
    const out: Record<string, string> = {}
    ctx.writeHeaders(out)
    out[P.headerContentType] = P.contentType(web, type.json)
    if (config.acceptCompression.length > 0) out[P.headerAcceptEncoding] = acceptEncodingValue(config.acceptCompression)
    if (responseCompression !== undefined) out[P.headerEncoding] = responseCompression.name
    return out
  }
  const trailers = (error: ConnectError | undefined) => {
    const fromHandler: Record<string, string> = {}
    ctx.writeTrailers(fromHandler, "")
    return statusToHeaders(error, fromHandler)
  }
  const kind = impl.method.methodKind
  if (kind === "unary") {
    if (checked instanceof ConnectError) return trailersOnly(Cause.fail(checked), headers, trailers)
    const codec = methodCodec(impl.method, type.json)
    const exchange = singleRequest(request, checked.compression, codec.input, config).pipe(
      Effect.flatMap((message) => impl.unary!(message, ctx)),
      Effect.flatMap((message) => envelopeMessage(codec.output, message, responseCompression, config))
    )
    return respondUnary(web, effectWithin(exchange, deadline), headers, trailers)
  }
  const codec = methodCodec(impl.method, type.json)
  return respondStreaming({
    ...handlerMessages(impl, ctx, request, checked, codec, responseCompression, config),
    deadline,
    headers,
    // gRPC sends the status in HTTP trailers, gRPC-Web in an envelope after the messages.
    end: (error) => web ? encodeEnvelope(P.flagTrailers, encodeWebTrailers(trailers(error))) : undefined,
    trailers: web ? undefined : trailers,
    // Not when the handler set headers: grpc-go's client reads every field of a trailers-only
    // response as a trailer, and they would be lost.
    trailersOnly: (error) => web || ctx.hasHeaders ? undefined : { ...headers(), ...trailers(error) }
  }, scope)
}

/** A call answered before its body is read: trailers-only, the status in the headers. */
const reject = (web: boolean) => (request: ServerRequest, error: ConnectError): ServerResponse => {
  const type = P.parseContentType(request.headers[P.headerContentType])
  return plain(200, { [P.headerContentType]: P.contentType(web, type?.json ?? false), ...statusToHeaders(error) })
}

const notFound = (web: boolean) => (request: ServerRequest): ServerResponse =>
  reject(web)(request, new ConnectError({ code: "unimplemented", message: `${request.path} is not implemented` }))

/** gRPC over HTTP/2: `application/grpc[+proto|+json]`, the status in HTTP trailers. @internal */
export const grpcProtocol: ServerProtocol = {
  accepts: (request) => P.parseContentType(request.headers[P.headerContentType])?.web === false,
  serve: serve(false),
  notFound: notFound(false),
  reject: (request, _method, error) => reject(false)(request, error)
}

/** gRPC-Web: `application/grpc-web[+proto|+json]`, the status in the body's last envelope. @internal */
export const grpcWebProtocol: ServerProtocol = {
  accepts: (request) => P.parseContentType(request.headers[P.headerContentType])?.web === true,
  serve: serve(true),
  notFound: notFound(true),
  reject: (request, _method, error) => reject(true)(request, error)
}
