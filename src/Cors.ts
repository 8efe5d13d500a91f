/**
 * Cross-origin resource sharing: what a server must allow so that pages of other origins can
 * call it from a browser. `ConnectServer`'s `cors` option takes these `Options`; the header lists
 * are for servers and proxies that answer CORS themselves.
 *
 * @since 0.2.0
 */
// Documented where they are declared, which is where the API reference reads the TSDoc.
export type { CorsOptions as Options } from "./internal/server/cors.js"
export { allowedHeaders, allowedMethods, exposedHeaders } from "./internal/server/cors.js"
