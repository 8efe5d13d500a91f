/**
 * The universal HTTP client on @effect/platform's HttpClient (undici, fetch, node:http),
 * which carries HTTP/1.1 and no trailers: enough for Connect and gRPC-Web.
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConnectError } from "../connectError.js"
import type { ClientRequest, ClientResponse, HttpClientAdapter } from "../http.js"
import { declaredTooLarge } from "../http.js"
import { collectBounded } from "../bytes.js"
import { describeRequestFailure } from "../networkError.js"
import { requestStreamRefusal } from "./requestStreams.js"

const transportError = (error: HttpClientError.HttpClientError): ConnectError =>
  error._tag === "RequestError" && error.reason !== "Transport"
    ? new ConnectError({ code: "internal", message: error.message, cause: error })
    : new ConnectError({
      code: "unavailable",
      // The HttpClient's own message ("Transport error (POST ...)") hides the reason in its cause.
      message: describeRequestFailure(error.request.method, error.request.url, error.cause ?? error),
      cause: error
    })

const toPlatformRequest = (request: ClientRequest): HttpClientRequest.HttpClientRequest => {
  const contentType = request.headers["content-type"]
  const body = request.body === undefined
    ? HttpBody.empty
    : request.body instanceof Uint8Array
    ? HttpBody.uint8Array(request.body, contentType)
    : HttpBody.stream(request.body, contentType)
  return HttpClientRequest.make(request.method)(request.url, { headers: request.headers, body })
}

const readBytes = (response: HttpClientResponse.HttpClientResponse, maxBytes: number) => {
  if (response.headers["content-length"] !== undefined) {
    const refused = declaredTooLarge(response.headers, maxBytes)
    if (refused !== undefined) return Effect.fail(refused)
    return Effect.mapBoth(response.arrayBuffer, { onFailure: transportError, onSuccess: (b) => new Uint8Array(b) })
  }
  return collectBounded(Stream.mapError(response.stream, transportError), maxBytes)
}

// FetchHttpClient's responses keep the fetch Response they wrap; fetch hands over decoded bodies.
const decodedByFetch = (response: HttpClientResponse.HttpClientResponse): boolean =>
  typeof globalThis.Response === "function" && (response as { readonly source?: unknown }).source instanceof globalThis.Response

const toResponse = (response: HttpClientResponse.HttpClientResponse): ClientResponse => ({
  status: response.status,
  contentDecoded: decodedByFetch(response),
  headers: response.headers,
  body: Stream.mapError(response.stream, transportError),
  bytes: (maxBytes) => readBytes(response, maxBytes)
})

/** @internal */
export const fromHttpClient = (client: HttpClient.HttpClient): HttpClientAdapter => {
  // Scoped: a response given up on before its body was read is aborted at once, not at GC.
  const scoped = HttpClient.withScope(client)
  const stream = (request: ClientRequest) => {
    const refusal = request.body === undefined || request.body instanceof Uint8Array ? undefined : requestStreamRefusal(request.url)
    return refusal !== undefined
      ? Effect.fail(refusal)
      : Effect.map(Effect.mapError(scoped.execute(toPlatformRequest(request)), transportError), toResponse)
  }
  return {
    unary: (request, use) => Effect.scoped(Effect.flatMap(stream(request), use)),
    stream
  }
}
