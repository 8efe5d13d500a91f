/**
 * Interceptors on the client: Effects around each call of a transport, whatever its protocol.
 * They see the method, the request headers and what remains of the deadline, may add headers,
 * fail the call with a ConnectError, and read the response's headers, trailers and messages.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type ClientInterceptor, type ClientInterceptorContext, interceptTransport } from "./internal/interceptor/client.js"
import * as Transport from "./internal/transport.js"

export {
  /**
   * @since 0.2.0
   * @category models
   */
  type CallInfo,
  /**
   * @since 0.2.0
   * @category models
   */
  type ClientInterceptor,
  /**
   * @since 0.2.0
   * @category models
   */
  type ClientInterceptorContext,
  /**
   * An interceptor that adds request headers to every call.
   *
   * @since 0.2.0
   * @category constructors
   */
  requestHeaders,
  /**
   * @since 0.2.0
   * @category models
   */
  type StreamNext,
  /**
   * @since 0.2.0
   * @category models
   */
  type StreamRequest,
  /**
   * @since 0.2.0
   * @category models
   */
  type UnaryNext,
  /**
   * @since 0.2.0
   * @category models
   */
  type UnaryRequest
} from "./internal/interceptor/client.js"

/**
 * Builds an interceptor; a hook left out lets that kind of call through untouched.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = <R = never>(interceptor: ClientInterceptor<R>): ClientInterceptor<R> => interceptor

/**
 * Puts interceptors around every call of a transport Layer. The first one listed is the
 * outermost: it sees the call first and the response last. The services they require are
 * taken from the context the resulting Layer is built in.
 *
 * @example
 * ```ts
 * const TransportLive = NodeTransport.layerUndici({ baseUrl }).pipe(
 *   ClientInterceptor.intercept(logging, auth)
 * )
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const intercept = <const Interceptors extends ReadonlyArray<ClientInterceptor<any>>>(...interceptors: Interceptors) =>
<E, R>(
  self: Layer.Layer<Transport.Transport, E, R>
): Layer.Layer<Transport.Transport, E, R | ClientInterceptorContext<Interceptors[number]>> =>
  Layer.effect(
    Transport.Transport,
    Effect.gen(function*() {
      const context = yield* Effect.context<ClientInterceptorContext<Interceptors[number]>>()
      return interceptTransport(yield* Transport.Transport, interceptors, context as never)
    })
  ).pipe(Layer.provide(self))
