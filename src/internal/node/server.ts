/**
 * The universal server model on node:http and node:http2 (its compatibility API, which gives
 * both versions the same request and response shapes): the fast path, with one fiber per
 * request and nothing between the socket and the protocol.
 * @internal
 */
import type * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type * as Http from "node:http"
import type * as Http2 from "node:http2"
import { constants as Http2Constants } from "node:http2"
import type { TLSSocket } from "node:tls"
import { ConnectError } from "../connectError.js"
import { serverShuttingDown } from "../server/calls.js"
import type { PeerCertificate } from "../server/service.js"
import type { Connection, PulledBody, ReadOptions, ServerHandler, ServerRequest, ServerResponse } from "../http.js"
import { fromNodeHeaders, plainHttp1, splitUrl } from "../http.js"
import { isHttp2, type NodeRequest, type NodeResponse } from "./exchange.js"
import { closeWhenStalled } from "./stalledBody.js"
import { type BodyClock, readChunks, readWhole } from "./stream.js"


const aborted = (cause?: unknown) =>
  new ConnectError({ code: "canceled", message: "the client closed the request", cause })


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

/** A request of node:http or node:http2, as the universal model sees it. */
class NodeServerRequest implements ServerRequest {
  readonly connection: Connection
  readonly method: string
  readonly path: string
  readonly search: string
  readonly headers: Headers.Headers
  constructor(readonly req: NodeRequest, url: string, readonly clock: BodyClock | undefined) {
    this.connection = connectionOf(req)
    this.method = req.method ?? "GET"
    const { path, search } = splitUrl(url)
    this.path = path
    this.search = search
    this.headers = fromNodeHeaders(req.headers)
  }
  // Built on first use: a unary call reads its body with `bytes` and never needs the Stream.
  get body() {
    return readChunks(this.req, aborted, this.clock)
  }
  // Past the limit, the rest of the body flows away unread.
  bytes(maxBytes: number, options?: ReadOptions) {
    return readWhole(this.req, this.headers, maxBytes, aborted, { ...options, clock: this.clock })
  }
}

/** @internal */
export const toServerRequest = (req: NodeRequest, url: string = req.url ?? "/", clock?: BodyClock): ServerRequest =>
  new NodeServerRequest(req, url, clock)

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

const writeResponse = (res: NodeResponse, response: ServerResponse, calls: CallCount): Effect.Effect<void> => {
  // Refused already, at the end of a shutdown's grace (endRunning), by a fiber of its own.
  if (res.headersSent) return Effect.void
  const body = response.body
  const trailers = response.trailers
  if (body === undefined && "stream" in res) {
    // One HEADERS frame that ends the stream: what gRPC calls a trailers-only response, which
    // the compatibility API cannot send (it ends a stream with an empty DATA frame).
    if (!res.stream.destroyed) res.stream.respond({ ...response.headers, ":status": response.status }, { endStream: true })
    return Effect.void
  }
  if (body instanceof Uint8Array && trailers === undefined && "stream" in res) {
    // END_STREAM on the DATA frame itself. The compatibility API ends a stream with an empty DATA
    // frame a moment later; a client that stops sending once it has its answer (connect-go, short
    // of its Content-Length) then has node:http2 reset the stream with PROTOCOL_ERROR first.
    const stream = res.stream
    if (!stream.destroyed && !stream.headersSent) {
      stream.respond({ ...response.headers, "content-length": String(body.byteLength), ":status": response.status })
      stream.end(body)
    }
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
  /** Ends the body, in its protocol's terms saying the server is shutting down when `lastWords`. */
  const end = (lastWords: boolean) => {
    if (out.writableEnded || out.destroyed) return
    if (lastWords && body.end !== undefined) {
      out.cork()
      for (const bytes of body.end(serverShuttingDown)) out.write(bytes)
      out.uncork()
    }
    if (trailers !== undefined) out.addTrailers(trailers())
    out.end()
  }
  const canSayLastWords = body.end !== undefined
  if (canSayLastWords) calls.lastWords.set(res, () => end(true))
  return writePulled(out, body).pipe(
    Effect.onExit((exit) =>
      Effect.sync(() => {
        calls.lastWords.delete(res)
        if (Exit.isSuccess(exit)) return end(false)
        // Interrupted when the shutdown's grace was over: the body still ends saying unavailable
        // (endRunning may have ended it so already). Any other interruption: the client left.
        if (calls.graceOver && canSayLastWords && !out.destroyed) return end(true)
        out.destroy()
      })
    )
  )
}

/** Writes a pulled body's chunks as they come, each chunk's bytes in one syscall, waiting for the client to drain. */
const writePulled = (out: Http.ServerResponse, body: PulledBody): Effect.Effect<void> => {
  const written: Effect.Effect<void, Option.Option<never>> = Effect.flatMap(body.pull, (chunk) => {
    // Ended by the shutdown's last words (endRunning) while the handler made this chunk, its
    // fiber not yet interrupted: a write now would reset the stream with INTERNAL_ERROR.
    if (out.writableEnded) return Effect.void
    out.cork()
    let drained = true
    for (const bytes of chunk) drained = out.write(bytes)
    out.uncork()
    // Node 24 may flush the corked writes in uncork() and never emit the "drain" that the last
    // write's false promised (nodejs/node#60432): whether the response still waits is asked
    // afterwards. node:http2's response on Node 20 cannot tell (undefined), and drains as promised.
    return drained || out.writableNeedDrain === false ? written : Effect.zipRight(waitForDrain(out), written)
  })
  // The pull fails with None at the end of the body, and with nothing else.
  return Effect.catchAll(written, () => Effect.void)
}

/**
 * The calls a listener is serving, for graceful shutdown (kept in the listener's one "close"
 * listener per call: a second one cost a tenth of the throughput of small calls).
 * @internal
 */
export interface CallCount {
  /** The calls being served, by their response: the request, and the fiber serving it. */
  readonly running: Map<NodeResponse, { readonly request: ServerRequest; readonly fiber: Fiber.RuntimeFiber<unknown, unknown> }>
  /**
   * For each streamed response under way whose protocol has a way to end it saying unavailable:
   * writes that ending, at once and outside its fiber.
   */
  readonly lastWords: Map<NodeResponse, () => void>
  /** The handlers interrupted when the shutdown's grace was over (`endRunning`), until they end. */
  readonly stopping: Set<Fiber.RuntimeFiber<unknown, unknown>>
  /** Set when the shutdown's grace is over (`endRunning`). */
  graceOver: boolean
  /** Called when the last call running ends. */
  onIdle: (() => void) | undefined
  /** Called when an HTTP/2 call's stream ends in RST_STREAM with an error code. */
  onReset: ((session: Http2.Http2Session) => void) | undefined
}

/** Serves `request` with `handler`, writing the response to `res`, in the call's Scope. */
const exchange = (handler: ServerHandler, request: ServerRequest, res: NodeResponse, calls: CallCount) =>
  Effect.flatMap(Scope.make(), (scope) =>
    Effect.onExit(
      Effect.flatMap(handler(request, scope), (response) => writeResponse(res, response, calls)),
      (exit) => Scope.close(scope, exit)
    ))

/** How many handlers are interrupted in one turn of the event loop at the end of a shutdown's grace. */
const stopsPerTurn = 256

/**
 * Ends the calls still running when a server's shutdown grace is over, with unavailable in each
 * call's own protocol, and interrupts their handlers. A streamed response already started ends
 * at once with its protocol's last bytes and trailers (`PulledBody.end`); a call not answered yet
 * is handed to `handler` again, which refuses it now that the server is shutting down.
 *
 * Interrupting a handler costs far more than answering its call (its Stream's finalizers, about
 * half a millisecond each here): every call is answered first, and the handlers are interrupted
 * a slice per turn of the event loop, so that the answers go out (node:http2 sends on a later
 * turn) and the connections are cut on time, not once ten thousand handlers have stopped.
 * @internal
 */
export const endRunning = (
  handler: ServerHandler,
  runFork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>,
  calls: CallCount
): void => {
  calls.graceOver = true
  const stopping: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
  for (const [res, { fiber, request }] of calls.running) {
    if (res.writableEnded) continue
    calls.stopping.add(fiber)
    fiber.addObserver(() => calls.stopping.delete(fiber))
    stopping.push(fiber)
    const lastWords = calls.lastWords.get(res)
    if (lastWords !== undefined) lastWords()
    else if (!res.headersSent) runFork(exchange(handler, request, res, calls))
  }
  let next = 0
  const stopSlice = () => {
    for (const last = Math.min(next + stopsPerTurn, stopping.length); next < last; next++) {
      stopping[next]!.unsafeInterruptAsFork(stopping[next]!.id())
    }
    if (next < stopping.length) setImmediate(stopSlice)
  }
  stopSlice()
}

/**
 * Waits for the handlers `endRunning` interrupted to end: the server's shutdown is over once
 * their finalizers have run, not when their connections close.
 * @internal
 */
export const stopped = (calls: CallCount): Effect.Effect<void> =>
  Effect.forEach(calls.stopping, (fiber) => fiber.await, { discard: true })

/**
 * A request listener for node:http and node:http2 serving `handler`, forking one fiber per
 * request with `runFork`; a client that goes away interrupts its fiber. A request body still
 * open once its response is written must keep arriving (`readIdleTimeoutMs`, see stalledBody.ts).
 * @internal
 */
export const nodeListener = (
  handler: ServerHandler,
  runFork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>,
  calls: CallCount,
  readIdleTimeoutMs: number | undefined
) =>
(req: NodeRequest, res: NodeResponse): void => {
  const out = res as Http.ServerResponse
  const clock: BodyClock = { lastByteAt: Date.now() }
  const request = toServerRequest(req, req.url, clock)
  // Read now: a stream no longer knows its session once it has closed.
  const session = isHttp2(req) ? req.stream.session : undefined
  // Listened to before the fiber runs: a call answered at once (a 404, say) runs to its end inside
  // runFork, and node:http2's response to a stream already reset emits "close" inside that end().
  let closed = false
  const call: { fiber?: Fiber.RuntimeFiber<void> } = {}
  out.on("close", () => {
    closed = true
    if (!out.writableEnded) call.fiber?.unsafeInterruptAsFork(call.fiber.id())
    // Reset: cancelled by the client, or given up on by the server (a client that stopped reading).
    if (session !== undefined && (req as Http2.Http2ServerRequest).stream.rstCode !== Http2Constants.NGHTTP2_NO_ERROR) {
      calls.onReset?.(session)
    }
    calls.running.delete(res)
    if (calls.running.size === 0) calls.onIdle?.()
  })
  const fiber = call.fiber = runFork(
    readIdleTimeoutMs === undefined
      ? exchange(handler, request, res, calls)
      : Effect.zipRight(exchange(handler, request, res, calls), Effect.sync(() => closeWhenStalled(req, res, clock, readIdleTimeoutMs)))
  )
  if (!closed) calls.running.set(res, { request, fiber })
}
