/**
 * The Connect error codes, as they are written on the wire.
 *
 * @since 0.1.0
 */
export * from "./internal/code.js"
