/**
 * connect-effect: Effect-native clients and services for the Connect RPC protocol. This entry
 * runs on any JavaScript platform with fetch (browsers, Deno, Bun, edge runtimes, Node) and
 * imports no `node:` module; Node servers and transports are in `connect-effect/node`.
 *
 * @module connect-effect
 * @since 0.1.0
 */

/** @since 0.2.0 */
export * as ClientInterceptor from "./ClientInterceptor.js"
/** @since 0.1.0 */
export * as Code from "./Code.js"
/** @since 0.1.0 */
export * as Compression from "./Compression.js"
/** @since 0.1.0 */
export * as ConnectClient from "./ConnectClient.js"
/** @since 0.1.0 */
export * as ConnectError from "./ConnectError.js"
/** @since 0.1.0 */
export * as ConnectService from "./ConnectService.js"
/** @since 0.1.0 */
export * as ConnectTransport from "./ConnectTransport.js"
/** @since 0.2.0 */
export * as Cors from "./Cors.js"
/** @since 0.2.0 */
export * as GrpcHealth from "./GrpcHealth.js"
/** @since 0.2.0 */
export * as GrpcReflection from "./GrpcReflection.js"
/** @since 0.2.0 */
export * as Observability from "./Observability.js"
/** @since 0.2.0 */
export * as Retry from "./Retry.js"
/** @since 0.2.0 */
export * as ServerInterceptor from "./ServerInterceptor.js"
/** @since 0.1.0 */
export * as Transport from "./Transport.js"
