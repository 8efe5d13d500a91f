/**
 * The server side of the Connect protocol, on the universal HTTP model.
 * @internal
 */
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt"
import * as Headers from "@effect/platform/Headers"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { toHttpStatus } from "../code.js"
import type { Compression } from "../compression.js"
import { ConnectError } from "../connectError.js"
import type { MethodImplementation } from "../server/service.js"
import { effectWithin } from "../deadline.js"
import { acceptEncodingValue, findCompression, negotiateCompression } from "../compression.js"
import { encodeEnvelope, flagEndStream } from "../envelope.js"
import { type ServerRequest, type ServerResponse, tooLarge } from "../http.js"
import { bodyPayload, parseMessage, serializeMessage, worthCompressing } from "../messages.js"
import { methodCodec } from "../methodCodec.js"
import { callDeadline, handlerMessages, respondStreaming } from "../server/calls.js"
import { errorOfCause } from "../server/failure.js"
import { HandlerContextImpl } from "../server/handlerContext.js"
import type { ServerConfig, ServerProtocol } from "../server/protocol.js"
import { endStreamToJsonBytes, errorToJsonBytes } from "./errorJson.js"
import { decodeGetQuery } from "./get.js"
import * as P from "./protocol.js"

const plain = (status: number, headers: Record<string, string> = {}): Effect.Effect<ServerResponse> =>
  Effect.succeed({ status, headers, body: undefined })

const unsupportedMediaType = (stream: boolean) =>
  plain(415, { "accept-post": stream ? `${P.contentTypeStreamProto}, ${P.contentTypeStreamJson}` : `${P.contentTypeUnaryProto}, ${P.contentTypeUnaryJson}` })

const methodNotAllowed = (allow: string) => plain(405, { allow })

/** A unary error response, with the handler's headers and trailers. @internal */
export const unaryErrorResponse = (error: ConnectError, ctx: HandlerContextImpl | undefined): ServerResponse => {
  const headers: Record<string, string> = {}
  ctx?.writeHeaders(headers)
  for (const name in error.metadata) headers[name] = error.metadata[name]!
  ctx?.writeTrailers(headers, P.trailerPrefix)
  headers[P.headerContentType] = P.contentTypeUnaryJson
  return { status: toHttpStatus(error.code), headers, body: errorToJsonBytes(error) }
}

const unknownCompression = (name: string | undefined, available: ReadonlyArray<Compression>) =>
  new ConnectError({
    code: "unimplemented",
    message: `unknown compression "${name}": supported encodings are ${acceptEncodingValue(available) || "identity"}`
  })

/** Checks shared by both kinds of call: protocol version, timeout and request compression. */
const preamble = (
  request: ServerRequest,
  config: ServerConfig,
  encodingName: string | undefined,
  checkVersion: boolean
): { timeoutMs: number | undefined; compression: Compression | undefined } | ConnectError => {
  if (checkVersion) {
    const version = request.headers[P.headerProtocolVersion]
    if (version !== undefined && version !== P.protocolVersion) {
      return new ConnectError({ code: "invalid_argument", message: `connect-protocol-version must be "1": got "${version}"` })
    }
  }
  const timeoutMs = P.parseTimeout(request.headers[P.headerTimeout])
  if (timeoutMs instanceof ConnectError) return timeoutMs
  const compression = findCompression(config.acceptCompression, encodingName)
  if (compression === null) return unknownCompression(encodingName, config.acceptCompression)
  return { timeoutMs, compression }
}

const handleUnary = (
  impl: MethodImplementation,
  request: ServerRequest,
  config: ServerConfig
): Effect.Effect<ServerResponse> => {
  const get = request.method === "GET"
  let json: boolean
  let encodingName: string | undefined
  let body: Effect.Effect<Uint8Array, ConnectError>
  if (get) {
    const query = decodeGetQuery(request.search)
    if (query instanceof ConnectError) return Effect.succeed(unaryErrorResponse(query, undefined))
    json = query.json
    encodingName = query.compression
    body = query.message.byteLength > config.readMaxBytes
      ? Effect.fail(new ConnectError({ code: "resource_exhausted", message: tooLarge(query.message.byteLength, config.readMaxBytes) }))
      : Effect.succeed(query.message)
  } else {
    const type = P.parseContentType(request.headers[P.headerContentType])
    if (type === undefined || type.stream) return unsupportedMediaType(false)
    json = type.json
    encodingName = request.headers[P.headerUnaryEncoding]
    body = request.bytes(config.readMaxBytes, { idleMs: config.readIdleTimeoutMs })
  }
  const checked = preamble(request, config, encodingName, !get)
  const deadline = checked instanceof ConnectError ? undefined : callDeadline(checked.timeoutMs, config)
  const ctx = new HandlerContextImpl(impl.method, request.headers, deadline, request.connection, config.shuttingDown)
  if (checked instanceof ConnectError) return Effect.succeed(unaryErrorResponse(checked, ctx))
  const codec = methodCodec(impl.method, json)
  const responseCompression = negotiateCompression(config.acceptCompression, request.headers[P.headerUnaryAcceptEncoding])
  const requestCompression = checked.compression
  const exchange = body.pipe(
    Effect.flatMap((bytes) => bodyPayload(bytes, requestCompression, config.readMaxBytes)),
    Effect.flatMap((bytes) => parseMessage(codec.input, bytes)),
    Effect.flatMap((message) => impl.unary!(message, ctx)),
    Effect.flatMap((message) => serializeMessage(codec.output, message, config.writeMaxBytes)),
    Effect.flatMap((bytes): Effect.Effect<ServerResponse, ConnectError> => {
      const headers: Record<string, string> = {}
      ctx.writeHeaders(headers)
      ctx.writeTrailers(headers, P.trailerPrefix)
      headers[P.headerContentType] = json ? P.contentTypeUnaryJson : P.contentTypeUnaryProto
      const compression = worthCompressing(responseCompression, bytes.byteLength, config.compressMinBytes)
      if (compression === undefined) return Effect.succeed({ status: 200, headers, body: bytes })
      headers[P.headerUnaryEncoding] = compression.name
      return Effect.map(compression.compress(bytes), (compressed) => ({ status: 200, headers, body: compressed }))
    })
  )
  return Effect.catchAllCause(effectWithin(exchange, deadline), (cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause) as never
      : Effect.map(errorOfCause(cause), (error) => unaryErrorResponse(error, ctx)))
}

const handleStream = (
  impl: MethodImplementation,
  request: ServerRequest,
  config: ServerConfig,
  scope: Scope.Scope
): Effect.Effect<ServerResponse> => {
  const type = P.parseContentType(request.headers[P.headerContentType])
  if (type === undefined || !type.stream) return unsupportedMediaType(true)
  const checked = preamble(request, config, request.headers[P.headerStreamEncoding], true)
  const deadline = checked instanceof ConnectError ? undefined : callDeadline(checked.timeoutMs, config)
  const ctx = new HandlerContextImpl(impl.method, request.headers, deadline, request.connection, config.shuttingDown)
  const codec = methodCodec(impl.method, type.json)
  const responseCompression = negotiateCompression(config.acceptCompression, request.headers[P.headerStreamAcceptEncoding])
  const endStream = (error: ConnectError | undefined) => {
    const trailers: Record<string, string> = {}
    ctx.writeTrailers(trailers, "")
    return encodeEnvelope(flagEndStream, endStreamToJsonBytes(Headers.unsafeFromRecord(trailers), error))
  }
  return respondStreaming({
    ...handlerMessages(impl, ctx, request, checked, codec, responseCompression, config),
    deadline,
    headers: () => {
      const headers: Record<string, string> = {}
      ctx.writeHeaders(headers)
      headers[P.headerContentType] = type.json ? P.contentTypeStreamJson : P.contentTypeStreamProto
      if (responseCompression !== undefined) headers[P.headerStreamEncoding] = responseCompression.name
      return headers
    },
    end: endStream
  }, scope)
}

/** Serves one call of `impl` in the Connect protocol. */
const handleConnect = (
  impl: MethodImplementation,
  request: ServerRequest,
  config: ServerConfig,
  scope: Scope.Scope
): Effect.Effect<ServerResponse> => {
  if (impl.method.methodKind === "unary") {
    if (request.method === "POST") return handleUnary(impl, request, config)
    const getAllowed = impl.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS
    if (request.method === "GET" && getAllowed) return handleUnary(impl, request, config)
    return methodNotAllowed(getAllowed ? "GET, POST" : "POST")
  }
  if (request.method !== "POST") return methodNotAllowed("POST")
  return handleStream(impl, request, config, scope)
}

/**
 * The Connect protocol on the server: its content types, and GET for unary calls. It is also
 * the router's fallback, answering requests no protocol accepts (415 with Accept-Post).
 * @internal
 */
export const connectProtocol: ServerProtocol = {
  accepts: (request) => request.method === "GET" || P.parseContentType(request.headers[P.headerContentType]) !== undefined,
  serve: handleConnect,
  notFound: (request) => {
    const error = new ConnectError({ code: "unimplemented", message: `${request.path} is not implemented` })
    return { ...unaryErrorResponse(error, undefined), status: 404 }
  },
  reject: (request, method, error) => {
    if (method.methodKind === "unary") return unaryErrorResponse(error, undefined)
    // A stream's error travels in its end-of-stream message, after a 200.
    const json = P.parseContentType(request.headers[P.headerContentType])?.json ?? false
    return {
      status: 200,
      headers: { [P.headerContentType]: json ? P.contentTypeStreamJson : P.contentTypeStreamProto },
      body: encodeEnvelope(flagEndStream, endStreamToJsonBytes(Headers.empty, error))
    }
  }
}
