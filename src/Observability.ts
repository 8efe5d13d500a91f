/**
 * Tracing and metrics for RPCs, on Effect's own Tracer and Metric: interceptors that give every
 * call a span (kind client or server, named `package.Service/Method`, with the OpenTelemetry
 * RPC semantic-convention attributes), carry the trace from client to server in W3C
 * `traceparent`, and count calls and their durations. Export them with `@effect/opentelemetry`
 * (or any Tracer and metrics reader): nothing else is needed. Off until installed.
 *
 * @since 0.2.0
 */
import type { ClientInterceptor } from "./internal/interceptor/client.js"
import type { ServerInterceptor } from "./internal/interceptor/server.js"
import { clientObservability } from "./internal/observability/client.js"
import { serverObservability } from "./internal/observability/server.js"

/**
 * What to record (both by default).
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** A span per call (default true). */
  readonly tracing?: boolean
  /**
   * Counters `rpc.<side>.calls_started` and `rpc.<side>.calls_finished` (the latter labelled
   * `rpc.code`: `ok` or the Connect code) and histogram `rpc.<side>.duration` in milliseconds,
   * all labelled `rpc.system`, `rpc.service` and `rpc.method` (default true).
   */
  readonly metrics?: boolean
}

/**
 * A client interceptor: a client span per call, with `server.address` and `server.port` from
 * the transport's base URL, and `traceparent` sent to the server.
 *
 * @example
 * ```ts
 * const TransportLive = NodeTransport.layerUndici({ baseUrl }).pipe(
 *   ClientInterceptor.intercept(Observability.client())
 * )
 * ```
 * @since 0.2.0
 * @category interceptors
 */
export const client = (options: Options = {}): ClientInterceptor =>
  clientObservability({ tracing: options.tracing ?? true, metrics: options.metrics ?? true })

/**
 * A server interceptor: a server span per call, a child of the client's span when the request
 * carries its `traceparent` (or b3 headers).
 *
 * @example
 * ```ts
 * const ServerLive = ConnectServer.layer({ services: [ElizaService], interceptors: [Observability.server()] })
 * ```
 * @since 0.2.0
 * @category interceptors
 */
export const server = (options: Options = {}): ServerInterceptor =>
  serverObservability({ tracing: options.tracing ?? true, metrics: options.metrics ?? true })
