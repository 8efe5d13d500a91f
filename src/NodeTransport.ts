/**
 * Connect transports on Node's own HTTP clients (from `connect-effect/node`): undici directly,
 * the fastest HTTP/1.1 path, and node:http2, for HTTP/2 and full-duplex bidi.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Dispatcher } from "undici"
import { makeTransport } from "./internal/client/protocols.js"
import { clientConfig, type TransportOptions } from "./internal/client/options.js"
import { fromDispatcher } from "./internal/node/undici.js"
import * as Transport from "./internal/transport.js"
import * as NodeCompression from "./NodeCompression.js"

/**
 * Options of the transport on undici: the protocol's options, and the Dispatcher to send with.
 *
 * @since 0.1.0
 * @category models
 */
export interface UndiciOptions extends Omit<TransportOptions, "httpTracing"> {
  /**
   * The undici Dispatcher (an `Agent`, `Pool` or `Client`) that sends the requests; it stays
   * yours to close. By default the Layer makes an `Agent` of its own, without undici's header and
   * body timeouts (a call is bounded by its own `timeout`; a stream may be idle for long), and
   * destroys it when released.
   */
  readonly dispatcher?: Dispatcher
}

/**
 * A Layer of the Connect transport on undici directly, with no `HttpClient`: the fastest client
 * path on Node. Calls go straight to the Dispatcher's connection pool, and a response body is
 * read with its own callbacks; interrupting a call still aborts its request.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(NodeTransport.layerUndici({ baseUrl: "http://localhost:8080" })))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerUndici = (options: UndiciOptions): Layer.Layer<Transport.Transport> =>
  Layer.scoped(
    Transport.Transport,
    Effect.map(
      options.dispatcher === undefined
        ? Effect.acquireRelease(
          // Loaded on first use, so that a program that never sends with undici (a server) never loads it.
          Effect.promise(() => import("undici")).pipe(Effect.map(({ Agent }) => new Agent({ headersTimeout: 0, bodyTimeout: 0 }))),
          (agent) => Effect.promise(() => agent.destroy())
        )
        : Effect.succeed(options.dispatcher),
      (dispatcher) => makeTransport(options.protocol ?? "connect", fromDispatcher(dispatcher), clientConfig(options, NodeCompression.defaults))
    )
  )

/**
 * Options of the transport on node:http2: the protocol's options, TLS, and how connections are
 * kept alive.
 *
 * @since 0.2.0
 * @category models
 */
export interface Http2Options extends Omit<TransportOptions, "httpTracing"> {
  /** Certificate authorities trusted for an `https:` base URL (PEM), instead of Node's defaults. */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>
  /** A client certificate chain (PEM), for servers that ask for one (mutual TLS). */
  readonly cert?: string | Uint8Array | ReadonlyArray<string | Uint8Array>
  /** The client certificate's private key (PEM). */
  readonly key?: string | Uint8Array | ReadonlyArray<string | Uint8Array>
  /** Reject a server whose certificate does not verify (default true). */
  readonly rejectUnauthorized?: boolean
  /**
   * Send a PING on a connection that has received nothing for this long, and drop it (failing
   * its calls with unavailable) if the PING is not answered in `pingTimeoutMs`. Off by default,
   * as in gRPC; a server that answers GOAWAY "too_many_pings" doubles it.
   */
  readonly pingIntervalMs?: number
  /** How long a PING may go unanswered (default 15 s). */
  readonly pingTimeoutMs?: number
  /** Ping connections with no call open too (default false: only busy ones). */
  readonly pingIdleConnection?: boolean
  /** Close a connection that has had no call for this long (default 15 minutes). */
  readonly idleTimeoutMs?: number
  /** Fail calls waiting for a connection that is not established after this long (default 30 s). */
  readonly connectTimeoutMs?: number
}

/**
 * A Layer of the Connect transport on node:http2, Node only: calls to one server share a
 * connection (a new one is opened when the server's limit of concurrent streams is reached or
 * it sends GOAWAY), and a streaming call is full duplex, so bidi streams work. An `http:`
 * base URL is HTTP/2 over cleartext with prior knowledge (h2c), an `https:` one TLS with ALPN
 * `h2`. Interrupting a call resets its stream (RST_STREAM CANCEL); releasing the Layer closes
 * every connection.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(NodeTransport.layerHttp2({ baseUrl: "http://localhost:8080" })))
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerHttp2 = (options: Http2Options): Layer.Layer<Transport.Transport> =>
  Layer.scoped(
    Transport.Transport,
    Effect.map(
      Effect.acquireRelease(
        // Loaded on first use: node:http2 stays out of programs (and bundles) that never use it.
        Effect.promise(() => import("./internal/node/http2Client.js")).pipe(Effect.map(({ makeHttp2Adapter }) =>
          makeHttp2Adapter({
            tls: { ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.rejectUnauthorized },
            pingIntervalMs: options.pingIntervalMs ?? Number.POSITIVE_INFINITY,
            pingTimeoutMs: options.pingTimeoutMs ?? 15_000,
            pingIdle: options.pingIdleConnection ?? false,
            idleTimeoutMs: options.idleTimeoutMs ?? 15 * 60_000,
            connectTimeoutMs: options.connectTimeoutMs ?? 30_000
          })
        )),
        (adapter) => adapter.close
      ),
      (adapter) => makeTransport(options.protocol ?? "connect", adapter, clientConfig(options, NodeCompression.defaults))
    )
  )
