// A client transport's options, the same for every protocol and HTTP client; public through ConnectTransport.ts.
import type { Compression } from "../compression.js"

/** What a protocol's client needs to know, resolved from the options. @internal */
export interface ClientConfig {
  readonly baseUrl: string
  readonly json: boolean
  readonly sendCompression: Compression | undefined
  readonly compressMinBytes: number
  readonly acceptCompression: ReadonlyArray<Compression>
  readonly useHttpGet: boolean
  readonly readMaxBytes: number
  readonly writeMaxBytes: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TransportOptions {
  /** The server's URL; method paths (`/package.Service/Method`) are appended to it. */
  readonly baseUrl: string
  /**
   * The protocol spoken: `connect` (the default), `grpc-web`, or on `NodeTransport`'s transports
   * also `grpc`, which needs HTTP trailers (HTTP/2's, or HTTP/1.1's chunked ones on undici, which
   * only some servers send: ours and connect-go's, not grpc-go's).
   *
   * @since 0.2.0
   */
  readonly protocol?: "connect" | "grpc" | "grpc-web"
  /** `binary` (protobuf, the default) or `json`. */
  readonly codec?: "binary" | "json"
  /** Compress requests with this (none by default). */
  readonly sendCompression?: Compression
  /** Messages smaller than this are sent uncompressed (default 1 KiB). */
  readonly compressMinBytes?: number
  /** Compressions offered for responses (default: the entry's `defaults`: gzip, and on Node gzip and br). */
  readonly acceptCompression?: ReadonlyArray<Compression>
  /** Send unary calls of methods marked `NO_SIDE_EFFECTS` as cacheable Connect GET requests (Connect only). */
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

/** @internal */
export const clientConfig = (
  options: Omit<TransportOptions, "httpTracing">,
  defaultCompressions: ReadonlyArray<Compression>
): ClientConfig => ({
  baseUrl: options.baseUrl,
  json: options.codec === "json",
  sendCompression: options.sendCompression,
  compressMinBytes: options.compressMinBytes ?? 1024,
  acceptCompression: options.acceptCompression ?? defaultCompressions,
  useHttpGet: options.useHttpGet ?? false,
  readMaxBytes: options.readMaxBytes ?? defaultMaxBytes,
  writeMaxBytes: options.writeMaxBytes ?? defaultMaxBytes
})

