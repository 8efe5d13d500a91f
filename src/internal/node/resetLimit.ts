/**
 * HTTP/2 rapid reset (CVE-2023-44487): a client opens streams and resets them at once, in a
 * loop, so that the server starts a call for each and throws the work away, while the client's
 * concurrent-stream limit never binds. Every call a client abandons this way is counted against
 * its session; past the limit, the session ends with GOAWAY ENHANCE_YOUR_CALM. (nghttp2, under
 * node:http2, also stops a session after about 1,000 resets with INTERNAL_ERROR; this limit is
 * lower, says why, and is the same on every Node.)
 * @internal
 */
import * as Http2 from "node:http2"

/** At most `resets` abandoned calls in any `windowMs` (a fixed window, restarted when it runs out). @internal */
export interface ResetLimit {
  readonly resets: number
  readonly windowMs: number
}

/**
 * Counts, per session, the calls its client reset before their response ended, and destroys
 * a session that passes `limit` with ENHANCE_YOUR_CALM in its final GOAWAY.
 * @internal
 */
export const resetCounter = (limit: ResetLimit) => {
  const windows = new WeakMap<Http2.Http2Session, { since: number; count: number }>()
  return (session: Http2.Http2Session): void => {
    const now = Date.now()
    let window = windows.get(session)
    if (window === undefined || now - window.since >= limit.windowMs) {
      window = { since: now, count: 0 }
      windows.set(session, window)
    }
    if (++window.count === limit.resets + 1) {
      // With an error: without one, node:http2 sends NO_ERROR whatever the code. Not at once: the
      // count runs in a stream's "close", inside nghttp2's reading of the socket, and destroying
      // the session there aborts Node 22 (an assertion in StreamBase: the socket's onread is gone).
      const error = new Error(`the client reset more than ${limit.resets} calls in ${limit.windowMs} ms (http2ResetLimit)`)
      setImmediate(() => {
        if (!session.destroyed) session.destroy(error, Http2.constants.NGHTTP2_ENHANCE_YOUR_CALM)
      })
    }
  }
}
