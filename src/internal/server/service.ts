// Everything here is public through src/ConnectService.ts, which re-exports it; it lives here so that internals never import a public module.
import type { DescMethod, DescService } from "@bufbuild/protobuf"
import type * as Headers from "@effect/platform/Headers"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type { ConnectError } from "../connectError.js"

/**
 * What a handler knows of its call besides the request message(s).
 *
 * @since 0.1.0
 * @category models
 */
export interface HandlerContext {
  /** The service called. */
  readonly service: DescService
  /** The method called. */
  readonly method: DescMethod
  /** The request headers, less the protocol's own. */
  readonly requestHeaders: Headers.Headers
  /** When the client gives up (epoch milliseconds), from its timeout; the handler is interrupted then. */
  readonly deadline: Option.Option<number>
  /** Headers to send; sent before the first response message. */
  readonly responseHeaders: globalThis.Headers
  /** Trailers to send after the last response message. */
  readonly responseTrailers: globalThis.Headers
  /**
   * The HTTP version the call came over.
   *
   * @since 0.2.0
   */
  readonly httpVersion: "1.1" | "2"
  /**
   * The certificate the client presented over TLS (see `ConnectServer`'s `tls.clientCertificates`).
   *
   * @since 0.2.0
   */
  readonly peerCertificate: Option.Option<PeerCertificate>
  /**
   * Completes when the server begins to shut down (never, where nothing shuts it down: an
   * HttpApp, the in-memory transport). A long stream can wait on it to end in good order, say
   * with a last message, before the server's `shutdownGraceMs` runs out; a stream still running
   * then ends with `unavailable` and its handler is interrupted.
   *
   * @example
   * ```ts
   * // Ends the stream (with what was sent so far) when the server shuts down.
   * subscribe: (request, ctx) => updates.pipe(Stream.interruptWhen(ctx.shuttingDown))
   * ```
   * @since 0.2.0
   */
  readonly shuttingDown: Effect.Effect<void>
}

/**
 * A TLS client's certificate, as a handler sees it.
 *
 * @since 0.2.0
 * @category models
 */
export interface PeerCertificate {
  /** Its subject's fields, e.g. `{ CN: "client-1", O: "Example" }` (a repeated field is a list). */
  readonly subject: Readonly<Record<string, string | ReadonlyArray<string>>>
  /** Its issuer's fields, as `subject`. */
  readonly issuer: Readonly<Record<string, string | ReadonlyArray<string>>>
  /** `subjectaltname` as Node gives it, e.g. `"DNS:client.example, IP Address:127.0.0.1"`. */
  readonly subjectAltName: string | undefined
  /** The serial number, in hex. */
  readonly serialNumber: string
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint256: string
  /** The start of its validity, as Node gives it (e.g. `"Sep  3 20:00:00 2025 GMT"`). */
  readonly validFrom: string
  /** The end of its validity, in the same form. */
  readonly validTo: string
  /** Whether it chains to one of the server's trusted client CAs. */
  readonly authorized: boolean
  /** The certificate in DER. */
  readonly raw: Uint8Array
}

/**
 * A method ready to serve, with the services its handler needs already provided.
 *
 * @since 0.1.0
 * @category models
 */
export interface MethodImplementation {
  /** The method implemented. */
  readonly method: DescMethod
  /** Set for unary methods: the fast path, with no Stream machinery. */
  readonly unary: ((request: unknown, context: HandlerContext) => Effect.Effect<unknown, unknown>) | undefined
  /** Set for server-streaming methods: one request, read whole, with no request Stream. */
  readonly serverStreaming: ((request: unknown, context: HandlerContext) => Stream.Stream<unknown, unknown>) | undefined
  /** Every method as a stream of requests to a stream of responses. */
  readonly streaming: (requests: Stream.Stream<unknown, ConnectError>, context: HandlerContext) => Stream.Stream<unknown, unknown>
}

/**
 * An implementation of service `S` in context, as a server finds it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Registered<S extends DescService> {
  /** The service implemented. */
  readonly service: S
  /** One implementation for each of its methods. */
  readonly methods: ReadonlyArray<MethodImplementation>
}

/**
 * The Context tag of the implementation of `service`; the same service gives the same tag.
 * @internal
 */
export const serviceTag = <S extends DescService>(service: S): Context.Tag<Registered<S>, Registered<S>> =>
  Context.GenericTag<Registered<S>>(`connect-effect/ConnectService/${service.typeName}`)
