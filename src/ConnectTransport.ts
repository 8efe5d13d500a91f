/**
 * The Connect protocol client transport: on any @effect/platform `HttpClient` (NodeHttpClient's
 * undici or node:http, FetchHttpClient in browsers), or on an undici Dispatcher directly (the
 * fast path on Node).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Dispatcher } from "undici"
import * as Compression from "./Compression.js"
import { fromHttpClient } from "./internal/client/platformHttp.js"
import { fromDispatcher } from "./internal/client/undici.js"
import { type ConnectClientConfig, makeConnectTransport } from "./internal/connect/client.js"
import * as Transport from "./Transport.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The server's URL; method paths (`/package.Service/Method`) are appended to it. */
  readonly baseUrl: string
  /** `binary` (protobuf, the default) or `json`. */
  readonly codec?: "binary" | "json"
  /** Compress requests with this (none by default). */
  readonly sendCompression?: Compression.Compression
  /** Messages smaller than this are sent uncompressed (default 1 KiB). */
  readonly compressMinBytes?: number
  /** Compressions offered for responses (default gzip and br). */
  readonly acceptCompression?: ReadonlyArray<Compression.Compression>
  /** Send unary calls of methods marked `NO_SIDE_EFFECTS` as cacheable Connect GET requests. */
  readonly useHttpGet?: boolean
  /** Largest response message accepted, before and after decompression (default 4 MiB). */
  readonly readMaxBytes?: number
  /** Largest request message sent (default 4 MiB). */
  readonly writeMaxBytes?: number
  /**
   * Keep the HttpClient's own tracing spans for each request (default false: a span per call
   * costs about a third of a small call's time).
   */
  readonly httpTracing?: boolean
}

/**
 * The default limit of a message's size, the same as gRPC's.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxBytes = 4 * 1024 * 1024

const configOf = (options: Options | UndiciOptions): ConnectClientConfig => ({
  baseUrl: options.baseUrl,
  json: options.codec === "json",
  sendCompression: options.sendCompression,
  compressMinBytes: options.compressMinBytes ?? 1024,
  acceptCompression: options.acceptCompression ?? Compression.defaults,
  useHttpGet: options.useHttpGet ?? false,
  readMaxBytes: options.readMaxBytes ?? defaultMaxBytes,
  writeMaxBytes: options.writeMaxBytes ?? defaultMaxBytes
})

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
      configOf(options)
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

/**
 * Options of the transport on undici: the protocol's options, and the Dispatcher to send with.
 *
 * @since 0.1.0
 * @category models
 */
export interface UndiciOptions extends Omit<Options, "httpTracing"> {
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
 * program.pipe(Effect.provide(ConnectTransport.layerUndici({ baseUrl: "http://localhost:8080" })))
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
      (dispatcher) => makeConnectTransport(fromDispatcher(dispatcher), configOf(options))
    )
  )
