/**
 * Cross-origin resource sharing: what a server must allow so that pages of other origins can
 * call it from a browser. `ConnectServer`'s `cors` option takes these `Options`; the header lists
 * are for servers and proxies that answer CORS themselves.
 *
 * @since 0.2.0
 */
export type {
  /**
   * Which origins may call, and what else they may send and read. No origin is allowed unless
   * listed: a wildcard is `allowedOrigins: "*"`, said out loud.
   *
   * @since 0.2.0
   * @category models
   */
  CorsOptions as Options
} from "./internal/server/cors.js"

export {
  /**
   * The request headers browser clients of Connect, gRPC-Web and gRPC send, for
   * `Access-Control-Allow-Headers`.
   *
   * @since 0.2.0
   * @category constants
   */
  allowedHeaders,
  /**
   * The methods Connect (POST, and GET for side-effect-free methods) and gRPC-Web (POST) use,
   * for `Access-Control-Allow-Methods`.
   *
   * @since 0.2.0
   * @category constants
   */
  allowedMethods,
  /**
   * The response headers browser clients of Connect and gRPC-Web read, for
   * `Access-Control-Expose-Headers` (connect-effect's server exposes every header a response
   * carries, these among them).
   *
   * @since 0.2.0
   * @category constants
   */
  exposedHeaders
} from "./internal/server/cors.js"
