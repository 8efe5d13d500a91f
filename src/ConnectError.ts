/**
 * The one error type of every RPC: a Connect code, a message, typed details and metadata.
 *
 * @since 0.1.0
 */
export * from "./internal/connectError.js"
