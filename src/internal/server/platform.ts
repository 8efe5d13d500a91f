/**
 * The universal server model as an @effect/platform HttpApp, to mount in an HttpRouter or
 * serve with any platform HttpServer.
 * @internal
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ConnectError } from "../../ConnectError.js"
import { collectBounded } from "../bytes.js"
import type { ServerHandler, ServerRequest } from "../http.js"
import { tooLarge } from "../http.js"

const readError = (cause: unknown) => new ConnectError({ code: "canceled", message: "failed to read the request body", cause })

const toServerRequest = (request: HttpServerRequest.HttpServerRequest): ServerRequest => {
  const url = request.url
  const query = url.indexOf("?")
  const body = Stream.mapError(request.stream, readError)
  return {
    method: request.method,
    path: query === -1 ? url : url.slice(0, query),
    search: query === -1 ? "" : url.slice(query + 1),
    headers: request.headers,
    body,
    bytes: (maxBytes) => {
      const declared = request.headers["content-length"]
      return declared !== undefined && Number(declared) > maxBytes
        ? Effect.fail(new ConnectError({ code: "resource_exhausted", message: tooLarge(declared, maxBytes) }))
        : collectBounded(body, maxBytes)
    }
  }
}

/** @internal */
export const toHttpApp = (handler: ServerHandler): HttpApp.Default<never, Scope.Scope> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.map(handler(toServerRequest(request)), (response) => {
      const contentType = response.headers["content-type"]
      const options = { status: response.status, headers: response.headers, ...(contentType === undefined ? {} : { contentType }) }
      const body = response.body
      if (body === undefined) return HttpServerResponse.empty(options)
      if (body instanceof Uint8Array) return HttpServerResponse.uint8Array(body, options)
      // The handler's scope must outlive this effect: it closes when the body has been sent.
      return HttpApp.unsafeEjectStreamScope(HttpServerResponse.stream(body, options))
    }))
