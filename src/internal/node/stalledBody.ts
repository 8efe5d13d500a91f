/**
 * A request body that has not ended when its response has: the server no longer needs it, but
 * the exchange (an HTTP/1.1 connection, an HTTP/2 stream) stays open until it ends. It must
 * keep coming: once it has been silent for `readIdleTimeoutMs` the exchange is closed, so that a
 * peer that stopped sending mid-request holds nothing. A body that stalled while it was read
 * (its call answered with deadline_exceeded) has been silent that long already, and is closed
 * as soon as the answer is sent.
 * @internal
 */
import * as Http2 from "node:http2"
import { isHttp2, type NodeRequest, type NodeResponse } from "./exchange.js"
import type { BodyClock } from "./stream.js"

/**
 * Closes an HTTP/2 stream whose response has been handed to node:http2, once that response is
 * out: a RST_STREAM sent before its last frame would lose it (and with it gRPC's status). A
 * response ended through the compatibility API (`viaCompat`) sends its trailers, or its
 * END_STREAM, on "wantTrailers", after the last data, and node:http2 submits them in a
 * setImmediate: the close follows in one queued after it. One ended on the stream itself is out
 * once the stream has finished. A peer that does not read the response either has the stream
 * cancelled after `idleMs`.
 */
const closeStream = (stream: Http2.ServerHttp2Stream, viaCompat: boolean, idleMs: number) => {
  const close = () => setImmediate(() => stream.close(Http2.constants.NGHTTP2_NO_ERROR))
  if (stream.sentTrailers !== undefined || stream.state.localClose === 1) return close()
  const cancel = setTimeout(() => stream.close(Http2.constants.NGHTTP2_CANCEL), idleMs)
  const done = () => {
    clearTimeout(cancel)
    close()
  }
  // After the compatibility response's own listener, which sends the trailers.
  if (viaCompat) stream.once("wantTrailers", done)
  else if (stream.writableFinished) done()
  else stream.once("finish", done)
}

/**
 * Watches the rest of `req`'s body, which flows away unread, and closes its exchange once it
 * has been silent `idleMs` (counted from its last byte, `clock`): on HTTP/1.1 the connection,
 * after what was written; on HTTP/2 the stream, with NO_ERROR, as RFC 9113 (8.1) lets a server
 * do once its response is complete.
 * @internal
 */
export const closeWhenStalled = (req: NodeRequest, res: NodeResponse, clock: BodyClock, idleMs: number): void => {
  if (req.complete || req.destroyed) return
  let timer: ReturnType<typeof setTimeout> | undefined
  const stop = () => {
    clearTimeout(timer)
    req.off("data", onData)
    req.off("end", stop)
    req.off("close", stop)
  }
  const onData = () => {
    clock.lastByteAt = Date.now()
  }
  const check = () => {
    const left = clock.lastByteAt + idleMs - Date.now()
    if (left > 0) {
      timer = setTimeout(check, left)
      return
    }
    stop()
    if (isHttp2(req)) closeStream(req.stream, res.writableEnded, idleMs)
    else req.socket.destroySoon()
  }
  req.on("data", onData)
  req.once("end", stop)
  req.once("close", stop)
  check()
}
