/**
 * Interceptors on the server: Effects around each handler, per server (`ConnectServer`'s
 * `interceptors`) or per service (`ConnectService.toLayer`'s), whatever the protocol; and the
 * request gate, which refuses a call from its headers before its body is read.
 *
 * @since 0.2.0
 */
import type { ServerInterceptor } from "./internal/interceptor/server.js"

export type {
  /**
   * @since 0.2.0
   * @category models
   */
  GateRequest,
  /**
   * @since 0.2.0
   * @category models
   */
  HooksContext,
  /**
   * @since 0.2.0
   * @category models
   */
  RequestGate,
  /**
   * @since 0.2.0
   * @category models
   */
  ServerInterceptor,
  /**
   * @since 0.2.0
   * @category models
   */
  ServerHooks,
  /**
   * @since 0.2.0
   * @category models
   */
  ServerInterceptorContext,
  /**
   * @since 0.2.0
   * @category models
   */
  StreamNext,
  /**
   * @since 0.2.0
   * @category models
   */
  UnaryNext
} from "./internal/interceptor/server.js"

/**
 * Builds an interceptor; a hook left out lets that kind of call through untouched.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = <R = never>(interceptor: ServerInterceptor<R>): ServerInterceptor<R> => interceptor
