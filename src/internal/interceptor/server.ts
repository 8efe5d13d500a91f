// Everything here is public through src/ServerInterceptor.ts; it lives here so that internals never import a public module.
import type { DescMethod } from "@bufbuild/protobuf"
import type * as Headers from "@effect/platform/Headers"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ConnectError } from "../connectError.js"
import { callContext } from "../callContext.js"
import type { HandlerContext, MethodImplementation } from "../server/service.js"

/**
 * The rest of the chain of a unary call: the next interceptor, and at the end the handler.
 *
 * @since 0.2.0
 * @category models
 */
export type UnaryNext = (request: unknown) => Effect.Effect<unknown, unknown>

/**
 * The rest of the chain of a streaming call (server, client or bidi streaming): requests in,
 * responses out (a client-streaming handler's one response is a stream of one).
 *
 * @since 0.2.0
 * @category models
 */
export type StreamNext = (requests: Stream.Stream<unknown, ConnectError>) => Stream.Stream<unknown, unknown>

/**
 * Wraps handlers on the server: `unary` sees unary calls (the request message, parsed), `stream`
 * every streaming call (the request messages as they arrive); both see the call's
 * HandlerContext (method, request headers, deadline, response headers and trailers to set),
 * may fail with a ConnectError, and may require services `R`, taken from the context where the
 * interceptor is installed.
 *
 * @since 0.2.0
 * @category models
 */
export interface ServerInterceptor<R = never> {
  /** Wraps unary handlers; `next` runs the handler (or the next interceptor). */
  readonly unary?: (request: unknown, context: HandlerContext, next: UnaryNext) => Effect.Effect<unknown, unknown, R>
  /** Wraps streaming handlers; `next` runs the handler (or the next interceptor). */
  readonly stream?: (
    requests: Stream.Stream<unknown, ConnectError>,
    context: HandlerContext,
    next: StreamNext
  ) => Stream.Stream<unknown, unknown, R>
}

/**
 * The services a list of server interceptors requires.
 *
 * @since 0.2.0
 * @category models
 */
export type ServerInterceptorContext<I> = I extends ServerInterceptor<infer R> ? R : never

/**
 * What the request gate knows of a call: its method and its headers, and nothing of its body.
 *
 * @since 0.2.0
 * @category models
 */
export interface GateRequest {
  /** The method called. */
  readonly method: DescMethod
  /** The request headers: all that is known of the call when the gate runs. */
  readonly headers: Headers.Headers
  /** The HTTP version the call came over. */
  readonly httpVersion: "1.1" | "2"
}

/**
 * Runs once a request's headers are known, before a byte of its body is read and before its
 * handler runs: failing rejects the call with that error, in the request's protocol. The place
 * for authentication and load shedding.
 *
 * @since 0.2.0
 * @category models
 */
export type RequestGate<R = never> = (request: GateRequest) => Effect.Effect<void, ConnectError, R>

/**
 * What a server puts around its calls.
 *
 * @since 0.2.0
 * @category models
 */
export interface ServerHooks<Interceptors extends ReadonlyArray<ServerInterceptor<any>> = [], GateContext = never> {
  /**
   * Around every handler, the first one outermost, outside each service's own
   * (`ConnectService.toLayer`'s). Their services are required by the server.
   */
  readonly interceptors?: Interceptors
  /** Runs once a request's headers are known, before its body is read or its handler runs. */
  readonly requestGate?: RequestGate<GateContext>
}

/**
 * What a server's hooks require: its interceptors' services and its request gate's.
 *
 * @since 0.2.0
 * @category models
 */
export type HooksContext<Interceptors, GateContext> =
  | ServerInterceptorContext<Interceptors extends ReadonlyArray<infer I> ? I : never>
  | GateContext

/**
 * `impl` with `interceptors` around its handler, the first one outermost. A streaming call of
 * one request (server streaming) keeps its fast path only when no interceptor wraps streams.
 * @internal
 */
export const interceptImplementation = (
  impl: MethodImplementation,
  interceptors: ReadonlyArray<ServerInterceptor<any>>,
  installed: Context.Context<never>
): MethodImplementation => {
  // The installer's Scope is left out: what a hook acquires belongs to the call, not to the Layer.
  const context = callContext(installed)
  const provided = context.unsafeMap.size > 0
  let unary = impl.unary
  let streaming = impl.streaming
  let wrapsStreams = false
  for (let i = interceptors.length - 1; i >= 0; i--) {
    const { unary: aroundUnary, stream: aroundStream } = interceptors[i]!
    if (aroundUnary !== undefined && unary !== undefined) {
      const next = unary
      unary = (request, ctx) => {
        const effect = aroundUnary(request, ctx, (r) => next(r, ctx))
        return (provided ? Effect.provide(effect, context) : effect) as Effect.Effect<unknown, unknown>
      }
    }
    if (aroundStream !== undefined) {
      const next = streaming
      wrapsStreams = true
      streaming = (requests, ctx) => {
        const stream = aroundStream(requests, ctx, (r) => next(r, ctx))
        return provided ? Stream.provideSomeContext(stream, context) as Stream.Stream<unknown, unknown> : stream as Stream.Stream<unknown, unknown>
      }
    }
  }
  const serverStreaming = wrapsStreams && impl.serverStreaming !== undefined
    ? (request: unknown, ctx: HandlerContext) => streaming(Stream.succeed(request), ctx)
    : impl.serverStreaming
  return { method: impl.method, unary, serverStreaming, streaming }
}
