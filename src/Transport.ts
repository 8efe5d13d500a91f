/**
 * The protocol-level client transport: what a generated or hand-made client calls. One
 * implementation per protocol (Connect today), each built on an HTTP client.
 *
 * @since 0.1.0
 */
export * from "./internal/transport.js"
