/**
 * The Connect protocol client transport on any @effect/platform `HttpClient`: FetchHttpClient in
 * browsers, Deno, Bun and edge runtimes, NodeHttpClient on Node. On Node, `NodeTransport` from
 * `connect-effect/node` is faster (undici directly) and speaks HTTP/2 (full-duplex bidi).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Compression from "./Compression.js"
import { fromHttpClient } from "./internal/platform/httpClient.js"
import { makeTransport } from "./internal/client/protocols.js"
import { clientConfig, type TransportOptions } from "./internal/client/options.js"
import * as Transport from "./internal/transport.js"

/**
 * The options of a Connect transport.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<TransportOptions, "protocol"> {
  /**
   * `connect` (the default) or `grpc-web`. (gRPC needs HTTP trailers, which an `HttpClient`
   * does not show: use `NodeTransport.layerHttp2` from `connect-effect/node`.)
   *
   * @since 0.2.0
   */
  readonly protocol?: "connect" | "grpc-web"
}

export {
  /**
   * The default limit of a message's size, the same as gRPC's.
   *
   * @since 0.1.0
   * @category constants
   */
  defaultMaxBytes
} from "./internal/client/options.js"

/**
 * Builds a transport of the Connect protocol (or of gRPC-Web, see `protocol`) on the HttpClient
 * in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Transport.Transport, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) =>
    makeTransport(
      options.protocol ?? "connect",
      fromHttpClient(options.httpTracing === true ? client : HttpClient.withTracerDisabledWhen(client, () => true)),
      clientConfig(options, Compression.defaults)
    ))

/**
 * A Layer of the Connect transport, for clients made with `ConnectClient.make`.
 *
 * @example
 * ```ts
 * program.pipe(
 *   Effect.provide(ConnectTransport.layer({ baseUrl: "http://localhost:8080" })),
 *   Effect.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Transport.Transport, never, HttpClient.HttpClient> =>
  Layer.effect(Transport.Transport, make(options))
