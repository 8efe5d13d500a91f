/**
 * Connect (unary, streaming, GET) and gRPC-Web requests over HTTP/1.1, written to a raw socket:
 * well-formed HTTP with hostile content. Each is a whole request with `Connection: close`, so
 * the server must answer every one, in its protocol's shape, and close.
 */
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { serializeRequest } from "../http1Wire.js"
import type { Kind } from "../kind.js"
import { judgeFor } from "../oracles.js"
import { connectRequests, grpcWebRequests, isStreamingRoute, type RpcRequest, showRpc } from "../rpcRequests.js"
import { exchangeOne } from "./http1Exchange.js"

interface Input {
  readonly request: RpcRequest
  /** 0: Content-Length; otherwise chunked in chunks of this size. */
  readonly chunkSize: number
}

const rpcOverHttp1 = (name: string, requests: fc.Arbitrary<RpcRequest>, share: number, about: string): Kind<Input, number> => ({
  name,
  share,
  about,
  inputs: fc.record({
    request: requests,
    chunkSize: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 64 }) })
  }),
  environment: (target) => Effect.succeed(target.port),
  run: (port, { chunkSize, request }) => {
    const type = request.headers.find(([name]) => name === "content-type")?.[1]
    const bytes = serializeRequest({
      method: request.method,
      target: request.path,
      version: "HTTP/1.1",
      headers: [["Host", "127.0.0.1"], ["Connection", "close"], ...request.headers],
      body: request.body,
      framing: request.method === "GET" ? { kind: "none" } : chunkSize === 0 ? { kind: "length", lengthDelta: 0 } : { kind: "chunked", chunkSize }
    })
    return exchangeOne(port, bytes, { complete: true, single: true, judge: judgeFor(type, isStreamingRoute(request)) })
  },
  show: ({ chunkSize, request }) => `${showRpc(request)}${chunkSize > 0 ? ` chunked by ${chunkSize}` : ""}`
})

export const connectHttp1 = rpcOverHttp1(
  "connect-h1",
  connectRequests,
  25,
  "Connect unary, streaming and GET requests over HTTP/1.1: hostile headers, bodies, envelopes, encodings, query strings"
)

export const grpcWebHttp1 = rpcOverHttp1(
  "grpc-web-h1",
  grpcWebRequests,
  15,
  "gRPC-Web requests over HTTP/1.1: hostile content types, timeouts, encodings and envelopes"
)
