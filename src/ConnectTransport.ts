/**
 * The Connect protocol client transport, on any @effect/platform `HttpClient`
 * (NodeHttpClient's undici or node:http, FetchHttpClient in browsers).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Compression from "./Compression.js"
import { fromHttpClient } from "./internal/client/platformHttp.js"
import { makeConnectTransport } from "./internal/connect/client.js"
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

/**
 * Builds a Connect transport on the HttpClient in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Transport.Transport, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) =>
    makeConnectTransport(fromHttpClient(options.httpTracing === true ? client : HttpClient.withTracerDisabledWhen(client, () => true)), {
      baseUrl: options.baseUrl,
      json: options.codec === "json",
      sendCompression: options.sendCompression,
      compressMinBytes: options.compressMinBytes ?? 1024,
      acceptCompression: options.acceptCompression ?? Compression.defaults,
      useHttpGet: options.useHttpGet ?? false,
      readMaxBytes: options.readMaxBytes ?? defaultMaxBytes,
      writeMaxBytes: options.writeMaxBytes ?? defaultMaxBytes
    }))

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
