/**
 * Serving service implementations on Node (from `connect-effect/node`): over node:http and
 * node:http2 directly (the fast path), or as an @effect/platform HttpApp to mount in an existing
 * HttpRouter or HttpServer.
 *
 * @since 0.1.0
 */
import type { DescService } from "@bufbuild/protobuf"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import { Buffer } from "node:buffer"
import type * as Tls from "node:tls"
import type * as Compression from "./Compression.js"
import type * as ConnectService from "./ConnectService.js"
import type * as Cors from "./Cors.js"
import { connectProtocol } from "./internal/connect/server.js"
import { grpcProtocol, grpcWebProtocol } from "./internal/grpc/server.js"
import type { ServerHandler } from "./internal/http.js"
import { reasonOf } from "./internal/networkError.js"
import { listen } from "./internal/node/listen.js"
import { type CallCount, endRunning, nodeListener, stopped } from "./internal/node/server.js"
import { toHttpApp as platformApp } from "./internal/node/httpApp.js"
import { withCors } from "./internal/server/cors.js"
import type { ServerConfig, ServerProtocol } from "./internal/server/protocol.js"
import { makeServerHandler } from "./internal/server/handler.js"
import * as NodeCompression from "./NodeCompression.js"
import type * as ServerInterceptor from "./ServerInterceptor.js"

/**
 * How the server treats messages, whatever HTTP server carries them.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProtocolOptions {
  /** Largest request message accepted, before and after decompression (default 4 MiB). */
  readonly readMaxBytes?: number
  /** Largest response message sent (default 4 MiB). */
  readonly writeMaxBytes?: number
  /** Responses smaller than this are sent uncompressed (default 1 KiB). */
  readonly compressMinBytes?: number
  /** Compressions accepted for requests and offered for responses (default gzip and br). */
  readonly acceptCompression?: ReadonlyArray<Compression.Compression>
  /**
   * The protocols served (default all three). gRPC needs HTTP trailers, which an HttpApp cannot
   * send: `toHttpApp` serves Connect and gRPC-Web only.
   *
   * @since 0.2.0
   */
  readonly protocols?: ReadonlyArray<Protocol>
}

/**
 * The RPC protocols a server speaks, each told apart by its content type.
 *
 * @since 0.2.0
 * @category models
 */
export type Protocol = "connect" | "grpc" | "grpc-web"

const protocolsByName: Record<Protocol, ServerProtocol> = {
  connect: connectProtocol,
  grpc: grpcProtocol,
  "grpc-web": grpcWebProtocol
}

const protocolsOf = (
  names: ReadonlyArray<Protocol> = ["connect", "grpc", "grpc-web"],
  canSendTrailers: boolean
): readonly [ServerProtocol, ...Array<ServerProtocol>] => {
  const chosen = names.filter((name) => canSendTrailers || name !== "grpc").map((name) => protocolsByName[name])
  return chosen.length === 0 ? [connectProtocol] : chosen as [ServerProtocol, ...Array<ServerProtocol>]
}

/**
 * Limits on calls that protect a server from slow and greedy peers, whatever HTTP server
 * carries the calls (the guide's "Limits and timeouts" lists them all). A timeout of 0 or
 * `Infinity` turns it off.
 *
 * @since 0.2.0
 * @category models
 */
export interface CallLimits {
  /**
   * How long a request body may stop arriving (default 30 seconds): anywhere in a body that is
   * one message or declares its length, and in the middle of a message of a client or bidi
   * stream (which may wait as long as it likes between messages). The call ends with
   * `deadline_exceeded`; the node server then closes the exchange (the HTTP/1.1 connection, the
   * HTTP/2 stream). A body still arriving after its response is closed after this long silent too.
   *
   * @since 0.2.0
   */
  readonly readIdleTimeoutMs?: number
  /**
   * The longest a handler may run (default none): when the client sent no timeout, or a longer
   * one, the handler sees this as its deadline and the call ends with `deadline_exceeded` when
   * it passes, as with a client's timeout.
   *
   * @since 0.2.0
   */
  readonly handlerTimeoutMs?: number
  /**
   * How many calls are served at once (default 10,000), over every connection. One more is
   * refused from its headers, before a byte of its body is read, with `resource_exhausted`
   * (Connect: HTTP 429; gRPC: status 8): a sign to back off, which clients do not retry at once
   * by default. `Infinity` turns it off.
   *
   * @since 0.2.0
   */
  readonly maxConcurrentCalls?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface HandlerOptions<
  Services extends ReadonlyArray<DescService>,
  Interceptors extends ReadonlyArray<ServerInterceptor.ServerInterceptor<any>> = [],
  GateContext = never
> extends ProtocolOptions, CallLimits, ServerInterceptor.ServerHooks<Interceptors, GateContext> {
  /** The services to serve; the implementation of each must be in context (`ConnectService.toLayer`). */
  readonly services: Services
  /**
   * Answer browsers' cross-origin requests from these origins (preflights, and the headers that
   * let a page read responses); without it, no CORS header is sent and only same-origin pages
   * can read responses. An invalid origin in the list is a defect when the server starts.
   *
   * @since 0.2.0
   */
  readonly cors?: Cors.Options
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions<
  Services extends ReadonlyArray<DescService>,
  Interceptors extends ReadonlyArray<ServerInterceptor.ServerInterceptor<any>> = [],
  GateContext = never
> extends HandlerOptions<Services, Interceptors, GateContext> {
  /** The port to listen on; 0 (the default) picks a free one. */
  readonly port?: number
  /** The address to listen on (default 127.0.0.1). */
  readonly host?: string
  /**
   * How long calls in flight may go on once shutdown begins (default 5 seconds). Handlers learn
   * of the shutdown from `HandlerContext.shuttingDown`; the calls still running when the grace
   * is over end with `unavailable` (a stream in its protocol's terms, a call not yet answered
   * with a 503), their handlers are interrupted, and their connections are closed a second later
   * at most.
   */
  readonly shutdownGraceMs?: number
  /**
   * How long an idle HTTP/1.1 connection or HTTP/2 session stays open (default 65 seconds).
   * Node's own default (5 s) is shorter than most clients' (Go: 90 s), and a request sent just
   * as the server closes an idle connection fails with a reset.
   */
  readonly keepAliveTimeoutMs?: number
  /**
   * Serve over TLS (HTTP/2 and HTTP/1.1 by ALPN) rather than cleartext.
   *
   * @since 0.2.0
   */
  readonly tls?: TlsOptions
  /**
   * How many connections (HTTP/1.1 connections and HTTP/2 sessions) may be open at once
   * (default 10,000). One more is closed as soon as it is accepted, before a byte of it is read,
   * as Node's `server.maxConnections` does; its client sees the connection reset. `Infinity`
   * turns it off.
   *
   * @since 0.2.0
   */
  readonly maxConnections?: number
  /**
   * How many calls one HTTP/2 connection may carry at once (default 100, SETTINGS_MAX_CONCURRENT_STREAMS).
   *
   * @since 0.2.0
   */
  readonly maxConcurrentStreams?: number
  /**
   * How many calls an HTTP/2 client may reset (RST_STREAM) before their response ends, in a
   * window of time (default 500 in 10 seconds): past it, its connection is closed with GOAWAY
   * ENHANCE_YOUR_CALM. A defence against rapid reset (CVE-2023-44487), where a client opens and
   * cancels streams in a loop so that the server starts work it throws away. `resets: Infinity`
   * turns it off.
   *
   * @since 0.2.0
   */
  readonly http2ResetLimit?: ResetLimit
  /**
   * How long an HTTP/1.1 client may take to send a request's headers before its connection is
   * closed (default 60 seconds, Node's): a client trickling headers (slowloris) holds nothing longer.
   *
   * @since 0.2.0
   */
  readonly headersTimeoutMs?: number
  /**
   * Largest size of an HTTP/2 request's header list (default 16 KiB; HTTP/1.1 has Node's 16 KiB).
   *
   * @since 0.2.0
   */
  readonly maxHeaderBytes?: number
}

/**
 * How many calls an HTTP/2 client may end with RST_STREAM in a window of time (`http2ResetLimit`).
 *
 * @since 0.2.0
 * @category models
 */
export interface ResetLimit {
  /** The most calls reset in one window; one more closes the connection. `Infinity` turns the limit off. */
  readonly resets: number
  /** The window, in milliseconds (a fixed window, starting again when it has run out). */
  readonly windowMs: number
}

/**
 * The server's certificate, and optionally the clients' (mutual TLS).
 *
 * @since 0.2.0
 * @category models
 */
export interface TlsOptions {
  /** PEM certificate chain. */
  readonly cert?: string | Buffer
  /** PEM private key. */
  readonly key?: string | Buffer
  /** Instead of `cert` and `key`: a context made with `tls.createSecureContext`. */
  readonly secureContext?: Tls.SecureContext
  /**
   * Ask clients for a certificate, verified against `ca` (PEM). When `required` (the default),
   * a client without a valid one is refused at the handshake; otherwise handlers see whether it
   * was valid in `HandlerContext.peerCertificate`.
   */
  readonly clientCertificates?: {
    /** The certificates of the CAs that client certificates must chain to (PEM). */
    readonly ca: string | Buffer | ReadonlyArray<string | Buffer>
    /** Refuse a client without a valid certificate at the handshake (default true). */
    readonly required?: boolean
  }
}

/**
 * What a running server is carrying now.
 *
 * @since 0.2.0
 * @category models
 */
export interface Activity {
  /** HTTP/2 sessions open. */
  readonly http2Sessions: number
  /** HTTP/1.1 connections open. */
  readonly http1Connections: number
  /** Calls being served, over either. */
  readonly callsInFlight: number
}

/**
 * The implementations a list of services requires.
 *
 * @since 0.1.0
 * @category models
 */
export type Implementations<Services extends ReadonlyArray<DescService>> = ConnectService.Implementations<Services>

/**
 * A running server.
 *
 * @since 0.1.0
 * @category tags
 */
export class ConnectServer extends Context.Tag("connect-effect/ConnectServer")<ConnectServer, {
  /** The base URL clients use, e.g. `http://127.0.0.1:8080` (`https:` over TLS). */
  readonly url: string
  /** The address it listens on. */
  readonly host: string
  /** The port it listens on (the one picked when asked for 0). */
  readonly port: number
  /** The connections and calls open now (for metrics and leak checks). */
  readonly activity: Effect.Effect<Activity>
}>() {}

/**
 * The server could not start listening.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServeError extends Data.TaggedError("ServeError")<{
  /** Node's error, such as `EADDRINUSE`. */
  readonly cause: unknown
}> {
  /**
   * Which address, and why, from the system's error: `cannot listen on 127.0.0.1:8080: listen
   * EADDRINUSE: address already in use 127.0.0.1:8080`.
   */
  override get message(): string {
    const { address, port } = (typeof this.cause === "object" && this.cause !== null ? this.cause : {}) as {
      readonly address?: unknown
      readonly port?: unknown
    }
    const where = address === undefined ? "" : ` on ${String(address)}${port === undefined ? "" : `:${String(port)}`}`
    return `cannot listen${where}: ${reasonOf(this.cause)}`
  }
}

/** The longest delay setTimeout keeps (a longer one fires at once). */
const maxTimerMs = 2 ** 31 - 1

/** A timeout option, undefined when turned off (0, `Infinity`, or longer than a timer can wait). */
const timeoutOf = (value: number | undefined, fallback: number | undefined): number | undefined => {
  const ms = value ?? fallback
  return ms === undefined || ms <= 0 || ms > maxTimerMs ? undefined : ms
}

/** A count limit, undefined when turned off (`Infinity`). */
const limitOf = (value: number | undefined, fallback: number): number | undefined => {
  const limit = value ?? fallback
  return Number.isFinite(limit) ? limit : undefined
}

const resetLimitOf = (limit: ResetLimit | undefined): ResetLimit | undefined => {
  const { resets, windowMs } = limit ?? { resets: 500, windowMs: 10_000 }
  return Number.isFinite(resets) ? { resets, windowMs } : undefined
}

const configOf = (options: ProtocolOptions & CallLimits): ServerConfig => ({
  readMaxBytes: options.readMaxBytes ?? 4 * 1024 * 1024,
  writeMaxBytes: options.writeMaxBytes ?? 4 * 1024 * 1024,
  compressMinBytes: options.compressMinBytes ?? 1024,
  acceptCompression: options.acceptCompression ?? NodeCompression.defaults,
  readIdleTimeoutMs: timeoutOf(options.readIdleTimeoutMs, 30_000),
  handlerTimeoutMs: timeoutOf(options.handlerTimeoutMs, undefined)
})

const makeHandler = <Services extends ReadonlyArray<DescService>, I extends ReadonlyArray<ServerInterceptor.ServerInterceptor<any>>, G>(
  options: HandlerOptions<Services, I, G>,
  config: ServerConfig,
  canSendTrailers: boolean,
  shuttingDown?: () => boolean
): Effect.Effect<ServerHandler, never, Implementations<Services> | ServerInterceptor.HooksContext<I, G>> =>
  Effect.map(
    makeServerHandler({
      services: options.services,
      protocols: protocolsOf(options.protocols, canSendTrailers),
      config,
      interceptors: options.interceptors,
      requestGate: options.requestGate,
      maxConcurrentCalls: limitOf(options.maxConcurrentCalls, 10_000),
      shuttingDown
    }),
    (router) => options.cors === undefined ? router : withCors(router, options.cors)
  )

/**
 * The services as an @effect/platform HttpApp, answering every path it is given: mount it
 * where Connect requests arrive (`/package.Service/Method`).
 *
 * @example
 * ```ts
 * const app = yield* ConnectServer.toHttpApp({ services: [ElizaService] })
 * const router = HttpRouter.empty.pipe(HttpRouter.all("/connectrpc.eliza.v1.ElizaService/*", app))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const toHttpApp = <
  const Services extends ReadonlyArray<DescService>,
  const Interceptors extends ReadonlyArray<ServerInterceptor.ServerInterceptor<any>> = [],
  GateContext = never
>(
  options: HandlerOptions<Services, Interceptors, GateContext>
): Effect.Effect<HttpApp.Default, never, Implementations<Services> | ServerInterceptor.HooksContext<Interceptors, GateContext>> =>
  Effect.map(makeHandler(options, configOf(options), false), platformApp)

/**
 * Serves the services for as long as the Layer lives: HTTP/1.1 and HTTP/2 on one port, in
 * cleartext (HTTP/2 with prior knowledge, told apart by its connection preface) or over TLS
 * (ALPN `h2` and `http/1.1`). Shutting down stops accepting, sends HTTP/2 sessions a GOAWAY,
 * refuses new calls with `unavailable`, tells handlers (`HandlerContext.shuttingDown`), lets
 * calls in flight finish within `shutdownGraceMs`, then ends the rest with `unavailable`.
 *
 * @example
 * ```ts
 * const ServerLive = ConnectServer.layer({ services: [ElizaService], port: 8080 }).pipe(
 *   Layer.provide(ElizaLive)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = <
  const Services extends ReadonlyArray<DescService>,
  const Interceptors extends ReadonlyArray<ServerInterceptor.ServerInterceptor<any>> = [],
  GateContext = never
>(
  options: ServeOptions<Services, Interceptors, GateContext>
): Layer.Layer<ConnectServer, ServeError, Implementations<Services> | ServerInterceptor.HooksContext<Interceptors, GateContext>> =>
  Layer.scoped(
    ConnectServer,
    Effect.gen(function*() {
      // Shutdown begins: new calls are refused (the router asks `closing`) and handlers told.
      let closing = false
      const shuttingDown = yield* Deferred.make<void>()
      const config: ServerConfig = { ...configOf(options), shuttingDown: Deferred.await(shuttingDown) }
      const handler = yield* makeHandler(options, config, true, () => closing)
      const runFork = Runtime.runFork(yield* Effect.runtime<never>())
      const calls: CallCount = {
        running: new Map(),
        lastWords: new Map(),
        stopping: new Set(),
        graceOver: false,
        onIdle: undefined,
        onReset: undefined
      }
      // Released after the listener: the handlers stopped at the grace's end have ended too.
      yield* Effect.addFinalizer(() => stopped(calls))
      const listening = yield* listen(nodeListener(handler, runFork, calls, config.readIdleTimeoutMs), calls, {
        port: options.port ?? 0,
        host: options.host ?? "127.0.0.1",
        tls: options.tls === undefined ? undefined : tlsOptions(options.tls),
        idleTimeoutMs: options.keepAliveTimeoutMs ?? 65_000,
        headersTimeoutMs: options.headersTimeoutMs ?? 60_000,
        maxConnections: limitOf(options.maxConnections, 10_000),
        maxConcurrentStreams: options.maxConcurrentStreams ?? 100,
        resetLimit: resetLimitOf(options.http2ResetLimit),
        maxHeaderListSize: options.maxHeaderBytes ?? 16 * 1024,
        shutdownGraceMs: options.shutdownGraceMs ?? 5000,
        onShutdown: () => {
          closing = true
          Deferred.unsafeDone(shuttingDown, Exit.void)
        },
        onGraceOver: () => endRunning(handler, runFork, calls)
      }).pipe(Effect.mapError((cause) => new ServeError({ cause })))
      const { address } = listening
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address
      return {
        url: `${options.tls === undefined ? "http" : "https"}://${host}:${address.port}`,
        host: address.address,
        port: address.port,
        activity: Effect.sync(() => {
          const open = listening.open()
          return { http2Sessions: open.sessions, http1Connections: open.connections, callsInFlight: open.calls }
        })
      }
    })
  )

const tlsOptions = (tls: TlsOptions): Tls.TlsOptions => ({
  ...(tls.secureContext === undefined ? { cert: tls.cert, key: tls.key } : { secureContext: tls.secureContext }),
  ...(tls.clientCertificates === undefined ? {} : {
    ca: typeof tls.clientCertificates.ca === "string" || Buffer.isBuffer(tls.clientCertificates.ca)
      ? tls.clientCertificates.ca
      : [...tls.clientCertificates.ca],
    requestCert: true,
    rejectUnauthorized: tls.clientCertificates.required ?? true
  })
})
