/**
 * What node:http does with bytes it cannot parse on an HTTP/1.1 connection, changed in one case:
 * when they follow a request that arrived whole (stray bytes after a chunked body's end, a
 * Content-Length shorter than what was sent), the response to that request is finished before
 * the connection closes. Node's own answer cuts it off: a 400 written over a response not yet
 * started, or a 200 stream destroyed before its end-of-stream message.
 * @internal
 */
import type * as Http from "node:http"
import type * as Net from "node:net"

/** Node's answers to a connection it gives up on, by the parser's error code. */
const statusOf = (code: string | undefined) => {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return "431 Request Header Fields Too Large"
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return "413 Payload Too Large"
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return "408 Request Timeout"
    default:
      return "400 Bad Request"
  }
}

/**
 * A `clientError` listener for a node:http server. The response attached to the socket is the
 * one being sent (`_httpMessage`: node:http's own name for it, set for a connection's oldest
 * unanswered request).
 * @internal
 */
export const onClientError = (error: Error & { readonly code?: string }, socket: Net.Socket): void => {
  const inFlight = (socket as { readonly _httpMessage?: Http.ServerResponse | null })._httpMessage ?? undefined
  if (inFlight !== undefined && inFlight.req.complete && socket.writable) {
    // The parser stopped after the request: nothing more is read from this connection.
    if (!inFlight.headersSent) inFlight.shouldKeepAlive = false
    else inFlight.once("finish", () => socket.destroySoon())
    return
  }
  if (socket.writable && (inFlight === undefined || !inFlight.headersSent)) {
    socket.write(`HTTP/1.1 ${statusOf(error.code)}\r\nConnection: close\r\n\r\n`)
  }
  socket.destroy(error)
}
