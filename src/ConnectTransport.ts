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
import { makeConnectTransport } from "./internal/connect/client.js"
import { connectClientConfig, type ConnectTransportOptions } from "./internal/connect/options.js"
import * as Transport from "./internal/transport.js"

/**
 * The options of a Connect transport.
 *
 * @since 0.1.0
 * @category models
 */
export type Options = ConnectTransportOptions

export {
  /**
   * The default limit of a message's size, the same as gRPC's.
   *
   * @since 0.1.0
   * @category constants
   */
  defaultMaxBytes
} from "./internal/connect/options.js"

/**
 * Builds a Connect transport on the HttpClient in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Transport.Transport, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) =>
    makeConnectTransport(
      fromHttpClient(options.httpTracing === true ? client : HttpClient.withTracerDisabledWhen(client, () => true)),
      connectClientConfig(options, Compression.defaults)
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
