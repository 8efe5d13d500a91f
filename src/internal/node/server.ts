/**
 * The universal server model on node:http and node:http2 (its compatibility API, which gives
 * both versions the same request and response shapes): the fast path, with one fiber per
 * request and nothing between the socket and the protocol.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type * as Http from "node:http"
import type * as Http2 from "node:http2"
import type { TLSSocket } from "node:tls"
import { ConnectError } from "../connectError.js"
import type { PeerCertificate } from "../server/service.js"
import type { Connection, ServerHandler, ServerRequest, ServerResponse } from "../http.js"
import { fromNodeHeaders, plainHttp1, splitUrl } from "../http.js"
import { readChunks, readWhole } from "./stream.js"

/** A request as node:http or node:http2's compatibility API gives it. @internal */
export type NodeRequest = Http.IncomingMessage | Http2.Http2ServerRequest

/** A response as node:http or node:http2's compatibility API gives it. @internal */
export type NodeResponse = Http.ServerResponse | Http2.Http2ServerResponse

const aborted = (cause?: unknown) =>
  new ConnectError({ code: "canceled", message: "the client closed the request", cause })

// Not by httpVersionMajor: node:http parses a request line of "HTTP/2.0" as version 2 too.
const isHttp2 = (req: NodeRequest): req is Http2.Http2ServerRequest => "stream" in req

/** The TLS socket a request came on, if it came over TLS. */
const tlsSocketOf = (req: NodeRequest): TLSSocket | undefined => {
  const socket = isHttp2(req) ? req.stream.session?.socket : req.socket
  return socket !== undefined && "encrypted" in socket && socket.encrypted === true ? socket as TLSSocket : undefined
}

const nameFields = (name: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) => {
  const out: Record<string, string | ReadonlyArray<string>> = {}
  for (const field in name) {
    const value = name[field]
    if (value !== undefined) out[field] = value
  }
  return out
}

const peerCertificateOf = (socket: TLSSocket): PeerCertificate | undefined => {
  const certificate = socket.getPeerCertificate()
  // An empty object when the client sent none.
  if (certificate === null || certificate.raw === undefined) return undefined
  return {
    subject: nameFields(certificate.subject),
    issuer: nameFields(certificate.issuer),
    subjectAltName: certificate.subjectaltname,
    serialNumber: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
    validFrom: certificate.valid_from,
    validTo: certificate.valid_to,
    authorized: socket.authorized,
    raw: new Uint8Array(certificate.raw)
  }
}

const connectionOf = (req: NodeRequest): Connection => {
  const tls = tlsSocketOf(req)
  if (tls === undefined) return isHttp2(req) ? plainHttp2 : plainHttp1
  let certificate: PeerCertificate | undefined | null = null
  return {
    httpVersion: isHttp2(req) ? "2" : "1.1",
    peerCertificate: () => certificate === null ? certificate = peerCertificateOf(tls) : certificate
  }
}

const plainHttp2: Connection = { httpVersion: "2", peerCertificate: () => undefined }

/** @internal */
export const toServerRequest = (req: NodeRequest, url: string = req.url ?? "/"): ServerRequest => {
  const headers = fromNodeHeaders(req.headers)
  return {
    connection: connectionOf(req),
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

const writeResponse = (res: NodeResponse, response: ServerResponse): Effect.Effect<void> => {
  const body = response.body
  const trailers = response.trailers
  if (body === undefined && "stream" in res) {
    // One HEADERS frame that ends the stream: what gRPC calls a trailers-only response, which
    // the compatibility API cannot send (it ends a stream with an empty DATA frame).
    if (!res.stream.destroyed) res.stream.respond({ ...response.headers, ":status": response.status }, { endStream: true })
    return Effect.void
  }
  // node:http2's compatibility response has every method and event used from here on.
  const out = res as Http.ServerResponse
  if (body === undefined || body instanceof Uint8Array) {
    if (trailers === undefined) {
      // A known length spares the client chunked decoding and lets it read the body in one go; a
      // 204 (a CORS preflight's answer) must not have one.
      out.writeHead(
        response.status,
        response.status === 204 ? response.headers : { ...response.headers, "content-length": String(body?.byteLength ?? 0) }
      )
    } else {
      out.writeHead(response.status, response.headers)
      out.addTrailers(trailers())
    }
    out.end(body)
    return Effect.void
  }
  out.writeHead(response.status, response.headers)
  return body.pipe(
    Stream.runForEachChunk((chunk) => {
      // One syscall for all the envelopes a chunk holds, rather than one each.
      out.cork()
      let drained = true
      for (const bytes of chunk) drained = out.write(bytes)
      out.uncork()
      // Node 24 may flush the corked writes in uncork() and never emit the "drain" that the last
      // write's false promised (nodejs/node#60432): whether the response still waits is asked
      // afterwards. node:http2's response on Node 20 cannot tell (undefined), and drains as promised.
      return drained || out.writableNeedDrain === false ? Effect.void : waitForDrain(out)
    }),
    Effect.onExit((exit) =>
      Effect.sync(() => {
        if (Exit.isFailure(exit)) return out.destroy()
        if (trailers !== undefined) out.addTrailers(trailers())
        out.end()
      })
    )
  )
}

/**
 * The calls a listener is serving, counted for graceful shutdown (in the listener's one "close"
 * listener per call: a second one cost a tenth of the throughput of small calls).
 * @internal
 */
export interface CallCount {
  open: number
  /** Called when `open` drops to 0. */
  onIdle: (() => void) | undefined
}

/**
 * A request listener for node:http and node:http2 serving `handler`, forking one fiber per
 * request with `runFork`; a client that goes away interrupts its fiber.
 * @internal
 */
export const nodeListener = (
  handler: ServerHandler,
  runFork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>,
  calls: CallCount
) =>
(req: NodeRequest, res: NodeResponse): void => {
  const out = res as Http.ServerResponse
  calls.open++
  // Listened to before the fiber runs: a call answered at once (a 404, say) runs to its end inside
  // runFork, and node:http2's response to a stream already reset emits "close" inside that end().
  const call: { fiber?: Fiber.RuntimeFiber<void> } = {}
  out.on("close", () => {
    if (!out.writableEnded) call.fiber?.unsafeInterruptAsFork(call.fiber.id())
    if (--calls.open === 0) calls.onIdle?.()
  })
  call.fiber = runFork(Effect.scoped(Effect.flatMap(handler(toServerRequest(req)), (response) => writeResponse(res, response))))
}
