/**
 * The universal HTTP client on a server's handler in the same process. Requests and responses
 * are the bytes each protocol puts on the wire, handed over without a socket, so that a test
 * goes through the real encoding, headers, trailers, deadlines and interruption. The handler
 * runs in the caller's fiber: closing the call's Scope interrupts it, as a reset would.
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { collectBounded } from "../bytes.js"
import { ConnectError } from "../connectError.js"
import type { ClientRequest, ClientResponse, Connection, HeadCheck, HttpClientAdapter, PulledBody, ServerHandler, ServerRequest, ServerResponse } from "../http.js"
import { pulledBodyStream, splitUrl, tooLarge } from "../http.js"

/** The base URL of in-memory calls (never resolved: no request leaves the process). @internal */
export const inMemoryBaseUrl = "http://in-memory"

const connection: Connection = { httpVersion: "2", peerCertificate: () => undefined }

const bodyStream = (body: Uint8Array | Stream.Stream<Uint8Array, ConnectError> | undefined): Stream.Stream<Uint8Array, ConnectError> =>
  body === undefined ? Stream.empty : body instanceof Uint8Array ? Stream.succeed(body) : body

/** A response body as a request body's shape: bytes, or a Stream. */
const responseBody = (body: Uint8Array | PulledBody | undefined): Uint8Array | Stream.Stream<Uint8Array> | undefined =>
  body === undefined || body instanceof Uint8Array ? body : pulledBodyStream(body)

/** A whole body; one given whole has all its bytes at once, and its head is checked with the rest by its reader. */
const bytesOf = (body: Uint8Array | Stream.Stream<Uint8Array, ConnectError> | undefined, maxBytes: number, head?: HeadCheck) =>
  body instanceof Uint8Array
    ? body.byteLength > maxBytes
      ? Effect.fail(new ConnectError({ code: "resource_exhausted", message: tooLarge(body.byteLength, maxBytes) }))
      : Effect.succeed(body)
    : collectBounded(bodyStream(body), maxBytes, head)

const toServerRequest = (request: ClientRequest): ServerRequest => {
  const { path, search } = splitUrl(request.url.slice(inMemoryBaseUrl.length))
  return {
    connection,
    method: request.method,
    path,
    search,
    headers: request.headers,
    body: bodyStream(request.body),
    bytes: (maxBytes, options) => bytesOf(request.body, maxBytes, options?.head)
  }
}

const toClientResponse = (response: ServerResponse): ClientResponse => ({
  status: response.status,
  headers: Headers.fromInput(response.headers),
  body: bodyStream(responseBody(response.body)),
  bytes: (maxBytes) => bytesOf(responseBody(response.body), maxBytes),
  trailers: Effect.sync(() => Headers.fromInput(response.trailers?.() ?? {}))
})

/** @internal */
export const fromServerHandler = (handler: ServerHandler): HttpClientAdapter => ({
  unary: (request, use) =>
    Effect.scoped(Effect.flatMap(Effect.scope, (scope) =>
      Effect.flatMap(handler(toServerRequest(request), scope), (response) => use(toClientResponse(response))))),
  stream: (request) => Effect.flatMap(Effect.scope, (scope) => Effect.map(handler(toServerRequest(request), scope), toClientResponse))
})
