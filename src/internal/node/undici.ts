/**
 * The universal HTTP client on an undici Dispatcher directly: no per-request layers between
 * the call and the connection pool, response bodies read with their own callbacks, and an
 * abort only for an exchange given up on (a completed one just returns its connection).
 * @internal
 */
import type * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import type { Readable } from "node:stream"
import type { Dispatcher } from "undici"
import { ConnectError, isConnectError } from "../connectError.js"
import type { ClientRequest, ClientResponse, HttpClientAdapter } from "../http.js"
import { fromNodeHeaders } from "../http.js"
import { describeRequestFailure } from "../networkError.js"
import { readChunks, readWhole, toReadable } from "./stream.js"

const ignore = () => {}

/**
 * A request the client refused to send (its own stream failed) keeps its error; a request undici
 * refuses (a malformed URL or header) is internal; anything else is the network's.
 */
const transportError = (request: ClientRequest) => (error: Error): ConnectError =>
  isConnectError(error)
    ? error
    : new ConnectError({
      code: (error as { readonly code?: unknown }).code === "UND_ERR_INVALID_ARG" ? "internal" : "unavailable",
      message: describeRequestFailure(request.method, request.url, error),
      cause: error
    })

/** `http://host:port/base/path?query` as undici's origin and path. */
const splitOrigin = (url: string): { readonly origin: string; readonly path: string } => {
  const slash = url.indexOf("/", url.indexOf("//") + 2)
  return slash === -1 ? { origin: url, path: "/" } : { origin: url.slice(0, slash), path: url.slice(slash) }
}

type Body = Uint8Array | Readable | null

interface Exchange {
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: Dispatcher.ResponseData["body"]
  /** Filled in by undici once the body has ended (HTTP/1.1 chunked trailers). */
  readonly trailers: Record<string, string>
}

const destroy = (exchange: Exchange) =>
  Effect.sync(() => {
    if (!exchange.body.readableEnded) exchange.body.destroy()
  })

/** @internal */
export const fromDispatcher = (dispatcher: Dispatcher): HttpClientAdapter => {
  const send = (request: ClientRequest, body: Body) =>
    Effect.async<Exchange, ConnectError>((resume) => {
      const controller = new AbortController()
      let sent: Promise<Dispatcher.ResponseData>
      try {
        sent = dispatcher.request({
          ...splitOrigin(request.url),
          method: request.method,
          headers: request.headers,
          body,
          signal: controller.signal
        })
      } catch (error) {
        resume(Effect.fail(transportError(request)(error as Error)))
        return
      }
      sent.then(
        (data) => {
          // A body destroyed unread emits an error nobody listens to any more.
          data.body.on("error", ignore)
          resume(Effect.succeed({
            status: data.statusCode,
            headers: fromNodeHeaders(data.headers),
            body: data.body,
            trailers: data.trailers
          }))
        },
        (error: Error) => resume(Effect.fail(transportError(request)(error)))
      )
      return Effect.sync(() => controller.abort())
    })

  const toResponse = (request: ClientRequest, exchange: Exchange): ClientResponse => ({
    status: exchange.status,
    headers: exchange.headers,
    // Built on first use: a unary call reads its body with `bytes` and never needs the Stream.
    get body() {
      return readChunks(exchange.body, transportError(request))
    },
    bytes: (maxBytes) => readWhole(exchange.body, exchange.headers, maxBytes, transportError(request)),
    trailers: Effect.sync(() => fromNodeHeaders(exchange.trailers))
  })

  return {
    unary: (request, use) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(send(request, (request.body as Uint8Array | undefined) ?? null)), (exchange) =>
          Effect.ensuring(restore(use(toResponse(request, exchange))), destroy(exchange)))
      ),
    stream: (request) =>
      Effect.flatMap(
        request.body === undefined || request.body instanceof Uint8Array
          ? Effect.succeed<Body>(request.body ?? null)
          : toReadable(request.body),
        (body) =>
          Effect.uninterruptibleMask((restore) =>
            Effect.flatMap(restore(send(request, body)), (exchange) =>
              Effect.as(Effect.addFinalizer(() => destroy(exchange)), toResponse(request, exchange)))
          )
      )
  }
}
