// Everything here is public through src/Transport.ts, which re-exports it whole; it lives here so that internals never import a public module.
import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf"
import type * as Headers from "@effect/platform/Headers"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { ConnectError } from "./connectError.js"

/**
 * Options of one call.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  /** Request headers to send besides the protocol's own. */
  readonly headers?: Headers.Input
  /** Sent to the server (Connect-Timeout-Ms) and enforced here: the call fails with deadline_exceeded. */
  readonly timeout?: Duration.DurationInput
}

/**
 * A unary response with its metadata.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnaryResponse<A> {
  /** The response message. */
  readonly message: A
  /** The response headers, less the protocol's own. */
  readonly headers: Headers.Headers
  /** The response trailers, less the protocol's own. */
  readonly trailers: Headers.Headers
}

/**
 * A streaming response: headers arrive before the first message, trailers after the last.
 * The exchange belongs to the Scope it was opened in; closing the Scope early aborts it.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamResponse<A, E = never> {
  /** The response headers, less the protocol's own. */
  readonly headers: Headers.Headers
  /** The response messages, failing with the call's error, if any, after the messages before it. */
  readonly messages: Stream.Stream<A, ConnectError | E>
  /** Completes once `messages` has ended (with the error's metadata if it failed). */
  readonly trailers: Effect.Effect<Headers.Headers>
}

/**
 * What a transport talks to: its protocol and the server's base URL (for tracing and logs).
 *
 * @since 0.2.0
 * @category models
 */
export interface Peer {
  /** The protocol spoken. */
  readonly protocol: "connect" | "grpc" | "grpc-web"
  /** The server's base URL. */
  readonly baseUrl: string
}

/**
 * How a client's calls reach a server: one protocol over one HTTP client, provided by a Layer
 * (`ConnectTransport.layer`, or `NodeTransport`'s on Node). Clients call it; a test can stand
 * in for it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transport {
  /**
   * What the transport talks to; the protocol transports set it, a hand-made one may leave it out.
   *
   * @since 0.2.0
   */
  readonly peer?: Peer
  /** Sends one request message and receives one response message. */
  readonly unary: <I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageInitShape<I>,
    options: RequestOptions
  ) => Effect.Effect<UnaryResponse<MessageShape<O>>, ConnectError>
  /** Sends a stream of request messages and receives a stream of response messages, in the Scope. */
  readonly stream: <I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    requests: Stream.Stream<MessageInitShape<I>, ConnectError>,
    options: RequestOptions
  ) => Effect.Effect<StreamResponse<MessageShape<O>>, ConnectError, Scope.Scope>
}

/**
 * What a transport receives of the call options: the timeout is already a number of
 * milliseconds for the protocol's header; enforcing it is the caller's job.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /** Request headers to send besides the protocol's own. */
  readonly headers: Headers.Headers
  /** The call's timeout, for the protocol's timeout header; none when undefined. */
  readonly timeoutMs: number | undefined
}

/**
 * The Context tag of the `Transport` clients call.
 *
 * @since 0.1.0
 * @category tags
 */
export const Transport: Context.Tag<Transport, Transport> = Context.GenericTag<Transport>("connect-effect/Transport")
