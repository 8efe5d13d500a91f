/**
 * The universal server model on node:http (and later node:http2): the fast path, with one
 * fiber per request and nothing between the socket and the protocol.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type * as Http from "node:http"
import { ConnectError } from "../../ConnectError.js"
import type { ServerHandler, ServerRequest, ServerResponse } from "../http.js"
import { fromNodeHeaders, splitUrl } from "../http.js"
import { readChunks, readWhole } from "../nodeStream.js"

const aborted = (cause?: unknown) =>
  new ConnectError({ code: "canceled", message: "the client closed the request", cause })

/** @internal */
export const toServerRequest = (req: Http.IncomingMessage, url: string = req.url ?? "/"): ServerRequest => {
  const headers = fromNodeHeaders(req.headers)
  return {
    method: req.method ?? "GET",
    ...splitUrl(url),
    headers,
    // Built on first use: a unary call reads its body with `bytes` and never needs the Stream.
    get body() {
      return readChunks(req, aborted)
    },
    // Past the limit, the rest of the body flows away unread.
    bytes: (maxBytes) => readWhole(req, headers, maxBytes, aborted)
  }
}

const waitForDrain = (res: Http.ServerResponse) =>
  Effect.async<void>((resume) => {
    const done = () => {
      res.off("drain", done)
      res.off("close", done)
      resume(Effect.void)
    }
    res.on("drain", done)
    res.on("close", done)
    return Effect.sync(() => {
      res.off("drain", done)
      res.off("close", done)
    })
  })

const writeResponse = (res: Http.ServerResponse, response: ServerResponse): Effect.Effect<void> => {
  const body = response.body
  if (body === undefined || body instanceof Uint8Array) {
    // A known length spares the client chunked decoding and lets it read the body in one go.
    res.writeHead(response.status, { ...response.headers, "content-length": String(body?.byteLength ?? 0) })
    res.end(body)
    return Effect.void
  }
  res.writeHead(response.status, response.headers)
  return body.pipe(
    Stream.runForEachChunk((chunk) => {
      // One syscall for all the envelopes a chunk holds, rather than one each.
      res.cork()
      let drained = true
      for (const bytes of chunk) drained = res.write(bytes)
      res.uncork()
      return drained ? Effect.void : waitForDrain(res)
    }),
    Effect.onExit((exit) => Effect.sync(() => (Exit.isSuccess(exit) ? res.end() : res.destroy())))
  )
}

/**
 * A node:http request listener serving `handler`, forking one fiber per request with
 * `runFork`; a client that goes away interrupts its fiber.
 * @internal
 */
export const nodeListener = (
  handler: ServerHandler,
  runFork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
) =>
(req: Http.IncomingMessage, res: Http.ServerResponse): void => {
  const fiber = runFork(Effect.scoped(Effect.flatMap(handler(toServerRequest(req)), (response) => writeResponse(res, response))))
  res.on("close", () => {
    if (!res.writableEnded) fiber.unsafeInterruptAsFork(fiber.id())
  })
}
