/**
 * A request and its response as node:http, or node:http2's compatibility API, give them: one
 * shape for both versions, told apart by `isHttp2`.
 * @internal
 */
import type * as Http from "node:http"
import type * as Http2 from "node:http2"

/** A request as node:http or node:http2's compatibility API gives it. @internal */
export type NodeRequest = Http.IncomingMessage | Http2.Http2ServerRequest

/** A response as node:http or node:http2's compatibility API gives it. @internal */
export type NodeResponse = Http.ServerResponse | Http2.Http2ServerResponse

/**
 * Whether `req` came over HTTP/2. Not by `httpVersionMajor`: node:http parses a request line of
 * "HTTP/2.0" as version 2 too (and a fuzzer's request that stalled after it once crashed the
 * server by being taken for an HTTP/2 stream).
 * @internal
 */
export const isHttp2 = (req: NodeRequest): req is Http2.Http2ServerRequest => "stream" in req
