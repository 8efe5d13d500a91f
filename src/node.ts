/**
 * connect-effect/node: what needs Node. Servers on node:http and node:http2 (HTTP/1.1, h2c and
 * TLS on one port), transports on undici and node:http2, and compression on node:zlib.
 *
 * @module connect-effect/node
 * @since 0.2.0
 */

/** @since 0.1.0 */
export * as ConnectServer from "./ConnectServer.js"
/** @since 0.2.0 */
export * as NodeCompression from "./NodeCompression.js"
/** @since 0.2.0 */
export * as NodeTransport from "./NodeTransport.js"
