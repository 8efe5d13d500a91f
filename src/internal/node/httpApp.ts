/**
 * The universal server model as an @effect/platform HttpApp, to mount in an HttpRouter or
 * serve with any platform HttpServer.
 * @internal
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import { ConnectError } from "../connectError.js"
import { collectBounded } from "../bytes.js"
import type { ServerHandler, ServerRequest } from "../http.js"
import { declaredTooLarge, plainHttp1, pulledBodyStream, splitUrl } from "../http.js"
import { failWhenIdle } from "../idle.js"
import { toServerRequest as fromIncomingMessage } from "./server.js"

const readError = (cause: unknown) => new ConnectError({ code: "canceled", message: "failed to read the request body", cause })

const fromPlatformRequest = (request: HttpServerRequest.HttpServerRequest): ServerRequest => {
  const body = Stream.mapError(request.stream, readError)
  return {
    connection: plainHttp1,
    method: request.method,
    ...splitUrl(request.url),
    headers: request.headers,
    body,
    bytes: (maxBytes, options) => {
      const refused = declaredTooLarge(request.headers, maxBytes)
      if (refused !== undefined) return Effect.fail(refused)
      const idleMs = options?.idleMs
      return collectBounded(idleMs === undefined ? body : failWhenIdle(body, idleMs, () => true), maxBytes, options?.head)
    }
  }
}

/**
 * The platform's request stream destroys a node:http request it stops reading early, which
 * kills the connection before an error response (a size limit, a bad envelope) is written.
 * A request served by node:http is therefore read the node adapter's way, leaving an unread
 * rest of the body to Node.
 */
const toServerRequest = (request: HttpServerRequest.HttpServerRequest): ServerRequest => {
  const source = (request as { readonly source?: unknown }).source
  return source instanceof Http.IncomingMessage
    ? fromIncomingMessage(source, request.url)
    : fromPlatformRequest(request)
}

/**
 * The handler runs in a scope of its own that closes with the response stream's own exit, so
 * that a client going away mid-stream reaches the handler as an interruption.
 * @internal
 */
export const toHttpApp = (handler: ServerHandler): HttpApp.Default =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.flatMap(Scope.make(), (scope) =>
      Effect.onExit(
        handler(toServerRequest(request), scope),
        // A streamed body closes the scope itself, when it ends.
        (exit) =>
          Exit.isSuccess(exit) && exit.value.body !== undefined && !(exit.value.body instanceof Uint8Array)
            ? Effect.void
            : Scope.close(scope, Exit.isFailure(exit) ? exit : Exit.void)
      ).pipe(Effect.map((response) => {
        const contentType = response.headers["content-type"]
        const options = { status: response.status, headers: response.headers, ...(contentType === undefined ? {} : { contentType }) }
        const body = response.body
        if (body === undefined) return HttpServerResponse.empty(options)
        if (body instanceof Uint8Array) return HttpServerResponse.uint8Array(body, options)
        return HttpServerResponse.stream(Stream.ensuringWith(pulledBodyStream(body), (exit) => Scope.close(scope, exit)), options)
      }))
    ))
