// Everything here is public through src/ClientInterceptor.ts; it lives here so that internals never import a public module.
import type { DescMethodStreaming, DescMethodUnary } from "@bufbuild/protobuf"
import * as Headers from "@effect/platform/Headers"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { ConnectError } from "../connectError.js"
import { callContext } from "../callContext.js"
import type { Peer, StreamResponse, Transport, UnaryResponse } from "../transport.js"

/**
 * What every call shows an interceptor, whatever its kind.
 *
 * @since 0.2.0
 * @category models
 */
export interface CallInfo {
  /** The request headers to send besides the protocol's own. */
  readonly headers: Headers.Headers
  /** What remains of the call's timeout, in milliseconds, when this interceptor runs (sent as the deadline). */
  readonly timeoutMs: number | undefined
  /** The transport's protocol and base URL, when it tells them. */
  readonly peer: Peer | undefined
}

/**
 * A unary call on its way out.
 *
 * @since 0.2.0
 * @category models
 */
export interface UnaryRequest extends CallInfo {
  /** The method called. */
  readonly method: DescMethodUnary
  /** The request message, as the caller gave it. */
  readonly message: unknown
}

/**
 * A streaming call (server, client or bidi streaming) on its way out; `messages` are the
 * requests, pulled as they are sent.
 *
 * @since 0.2.0
 * @category models
 */
export interface StreamRequest extends CallInfo {
  /** The method called. */
  readonly method: DescMethodStreaming
  /** The request messages, as the caller gave them (wrap the Stream to observe each). */
  readonly messages: Stream.Stream<unknown, ConnectError>
}

/**
 * The rest of the chain of a unary call: the next interceptor, and at the end the transport.
 *
 * @since 0.2.0
 * @category models
 */
export type UnaryNext = (request: UnaryRequest) => Effect.Effect<UnaryResponse<unknown>, ConnectError>

/**
 * The rest of the chain of a streaming call. The response's `messages` and `trailers` are what
 * the caller will read: map them to observe each response message.
 *
 * @since 0.2.0
 * @category models
 */
export type StreamNext = (request: StreamRequest) => Effect.Effect<StreamResponse<unknown>, ConnectError, Scope.Scope>

/**
 * Wraps calls on the client: `unary` sees unary calls, `stream` every streaming call; either may
 * change the request (headers, messages), fail with a ConnectError, or look at the response.
 * Both may require services `R`, taken from the context where the interceptor is installed.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClientInterceptor<R = never> {
  /** Wraps unary calls; `next` sends the (possibly changed) request on. */
  readonly unary?: (request: UnaryRequest, next: UnaryNext) => Effect.Effect<UnaryResponse<unknown>, ConnectError, R>
  /** Wraps streaming calls; `next` sends the (possibly changed) request on. */
  readonly stream?: (request: StreamRequest, next: StreamNext) => Effect.Effect<StreamResponse<unknown>, ConnectError, R | Scope.Scope>
}

/**
 * The services a list of client interceptors requires.
 *
 * @since 0.2.0
 * @category models
 */
export type ClientInterceptorContext<I> = I extends ClientInterceptor<infer R> ? R : never

/**
 * Gives each hook the installer's context, added to the caller's. The installer's Scope is left
 * out: a stream hook's resources belong to the call, not to the Layer.
 */
const provider = (installed: Context.Context<never>) => {
  const context = callContext(installed)
  return context.unsafeMap.size === 0
    ? <A, E>(effect: Effect.Effect<A, E, any>) => effect as Effect.Effect<A, E>
    : <A, E>(effect: Effect.Effect<A, E, any>) => Effect.provide(effect, context) as Effect.Effect<A, E>
}

/**
 * `transport` with `interceptors` around its calls, the first one outermost: it sees the call
 * first and its response last.
 * @internal
 */
export const interceptTransport = (
  transport: Transport,
  interceptors: ReadonlyArray<ClientInterceptor<any>>,
  context: Context.Context<never>
): Transport => {
  const provide = provider(context)
  let unary: UnaryNext = (request) =>
    transport.unary(request.method, request.message as never, { headers: request.headers, timeoutMs: request.timeoutMs })
  let stream: StreamNext = (request) =>
    transport.stream(request.method, request.messages as never, { headers: request.headers, timeoutMs: request.timeoutMs })
  for (let i = interceptors.length - 1; i >= 0; i--) {
    const { unary: aroundUnary, stream: aroundStream } = interceptors[i]!
    if (aroundUnary !== undefined) {
      const next = unary
      unary = (request) => provide(aroundUnary(request, next))
    }
    if (aroundStream !== undefined) {
      const next = stream
      stream = (request) => provide(aroundStream(request, next))
    }
  }
  const peer = transport.peer
  return {
    ...(peer === undefined ? {} : { peer }),
    unary: (method, message, options) =>
      unary({ method, message, headers: options.headers, timeoutMs: options.timeoutMs, peer }) as never,
    stream: (method, messages, options) =>
      stream({ method, messages, headers: options.headers, timeoutMs: options.timeoutMs, peer }) as never
  }
}

/**
 * An interceptor that adds request headers to every call, from an Effect that may need services
 * (a token source) or fail (no token: the call fails without being sent).
 *
 * @since 0.2.0
 * @category constructors
 */
export const requestHeaders = <R>(
  headers: (call: CallInfo & { readonly method: DescMethodUnary | DescMethodStreaming }) => Effect.Effect<Headers.Input, ConnectError, R>
): ClientInterceptor<R> => ({
  unary: (request, next) =>
    Effect.flatMap(headers(request), (added) => next({ ...request, headers: Headers.merge(request.headers, Headers.fromInput(added)) })),
  stream: (request, next) =>
    Effect.flatMap(headers(request), (added) => next({ ...request, headers: Headers.merge(request.headers, Headers.fromInput(added)) }))
})
