// The Connect transport's options, shared by the transports of the main entry and of connect-effect/node; public through ConnectTransport.ts.
import type { Compression } from "../compression.js"
import type { ConnectClientConfig } from "./client.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ConnectTransportOptions {
  /** The server's URL; method paths (`/package.Service/Method`) are appended to it. */
  readonly baseUrl: string
  /** `binary` (protobuf, the default) or `json`. */
  readonly codec?: "binary" | "json"
  /** Compress requests with this (none by default). */
  readonly sendCompression?: Compression
  /** Messages smaller than this are sent uncompressed (default 1 KiB). */
  readonly compressMinBytes?: number
  /** Compressions offered for responses (default: the entry's `defaults`: gzip, and on Node gzip and br). */
  readonly acceptCompression?: ReadonlyArray<Compression>
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

export const connectClientConfig = (
  options: Omit<ConnectTransportOptions, "httpTracing">,
  defaultCompressions: ReadonlyArray<Compression>
): ConnectClientConfig => ({
  baseUrl: options.baseUrl,
  json: options.codec === "json",
  sendCompression: options.sendCompression,
  compressMinBytes: options.compressMinBytes ?? 1024,
  acceptCompression: options.acceptCompression ?? defaultCompressions,
  useHttpGet: options.useHttpGet ?? false,
  readMaxBytes: options.readMaxBytes ?? defaultMaxBytes,
  writeMaxBytes: options.writeMaxBytes ?? defaultMaxBytes
})

