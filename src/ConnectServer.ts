/**
 * Serving service implementations: over node:http directly (the fast path), or as an
 * @effect/platform HttpApp to mount in an existing HttpRouter or HttpServer.
 *
 * @since 0.1.0
 */
import type { DescService } from "@bufbuild/protobuf"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Compression from "./Compression.js"
import * as ConnectService from "./ConnectService.js"
import type { ServerConfig } from "./internal/connect/server.js"
import type { ServerHandler } from "./internal/http.js"
import { nodeListener } from "./internal/server/node.js"
import { toHttpApp as platformApp } from "./internal/server/platform.js"
import { makeRouter } from "./internal/server/router.js"

/**
 * How the server treats messages, whatever HTTP server carries them.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProtocolOptions {
  /** Largest request message accepted, before and after decompression (default 4 MiB). */
  readonly readMaxBytes?: number
  /** Largest response message sent (default 4 MiB). */
  readonly writeMaxBytes?: number
  /** Responses smaller than this are sent uncompressed (default 1 KiB). */
  readonly compressMinBytes?: number
  /** Compressions accepted for requests and offered for responses (default gzip and br). */
  readonly acceptCompression?: ReadonlyArray<Compression.Compression>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface HandlerOptions<Services extends ReadonlyArray<DescService>> extends ProtocolOptions {
  /** The services to serve; the implementation of each must be in context (`ConnectService.toLayer`). */
  readonly services: Services
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions<Services extends ReadonlyArray<DescService>> extends HandlerOptions<Services> {
  /** The port to listen on; 0 (the default) picks a free one. */
  readonly port?: number
  /** The address to listen on (default 127.0.0.1). */
  readonly host?: string
  /** How long shutdown waits for calls in flight before closing their connections (default 5 seconds). */
  readonly shutdownGraceMs?: number
  /**
   * How long an idle connection stays open (default 65 seconds). Node's own default (5 s) is
   * shorter than most clients' (Go: 90 s), and a request sent just as the server closes an idle
   * connection fails with a reset.
   */
  readonly keepAliveTimeoutMs?: number
}

/**
 * The implementations a list of services requires.
 *
 * @since 0.1.0
 * @category models
 */
export type Implementations<Services extends ReadonlyArray<DescService>> = Services[number] extends infer S
  ? S extends DescService ? ConnectService.Registered<S> : never
  : never

/**
 * A running server.
 *
 * @since 0.1.0
 * @category tags
 */
export class ConnectServer extends Context.Tag("connect-effect/ConnectServer")<ConnectServer, {
  /** The base URL clients use, e.g. `http://127.0.0.1:8080`. */
  readonly url: string
  readonly host: string
  readonly port: number
}>() {}

/**
 * The server could not start listening.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServeError extends Data.TaggedError("ServeError")<{ readonly cause: unknown }> {}

const configOf = (options: ProtocolOptions): ServerConfig => ({
  readMaxBytes: options.readMaxBytes ?? 4 * 1024 * 1024,
  writeMaxBytes: options.writeMaxBytes ?? 4 * 1024 * 1024,
  compressMinBytes: options.compressMinBytes ?? 1024,
  acceptCompression: options.acceptCompression ?? Compression.defaults
})

const makeHandler = <Services extends ReadonlyArray<DescService>>(
  options: HandlerOptions<Services>
): Effect.Effect<ServerHandler, never, Implementations<Services>> =>
  Effect.map(
    Effect.forEach(options.services, (service) => ConnectService.tag(service)),
    (registered) => makeRouter(registered, configOf(options))
  ) as Effect.Effect<ServerHandler, never, Implementations<Services>>

/**
 * The services as an @effect/platform HttpApp, answering every path it is given: mount it
 * where Connect requests arrive (`/package.Service/Method`).
 *
 * @example
 * ```ts
 * const app = yield* ConnectServer.toHttpApp({ services: [ElizaService] })
 * const router = HttpRouter.empty.pipe(HttpRouter.all("/connectrpc.eliza.v1.ElizaService/*", app))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const toHttpApp = <const Services extends ReadonlyArray<DescService>>(
  options: HandlerOptions<Services>
): Effect.Effect<HttpApp.Default, never, Implementations<Services>> =>
  Effect.map(makeHandler(options), platformApp)

const listen = (server: Http.Server, port: number, host: string) =>
  Effect.async<AddressInfo, ServeError>((resume) => {
    const onError = (cause: Error) => resume(Effect.fail(new ServeError({ cause })))
    server.once("error", onError)
    server.listen(port, host, () => {
      server.off("error", onError)
      resume(Effect.succeed(server.address() as AddressInfo))
    })
  })

const shutdown = (server: Http.Server, graceMs: number) =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs)
    server.close(() => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    server.closeIdleConnections()
  })

/**
 * Serves the services over HTTP/1.1 with node:http for as long as the Layer lives; shutting
 * down stops accepting, lets calls in flight finish, then closes the connections.
 *
 * @example
 * ```ts
 * const ServerLive = ConnectServer.layer({ services: [ElizaService], port: 8080 }).pipe(
 *   Layer.provide(ElizaLive)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = <const Services extends ReadonlyArray<DescService>>(
  options: ServeOptions<Services>
): Layer.Layer<ConnectServer, ServeError, Implementations<Services>> =>
  Layer.scoped(
    ConnectServer,
    Effect.gen(function*() {
      const handler = yield* makeHandler(options)
      const runFork = Runtime.runFork(yield* Effect.runtime<never>())
      const server = Http.createServer(nodeListener(handler, runFork))
      server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000
      const address = yield* Effect.acquireRelease(
        listen(server, options.port ?? 0, options.host ?? "127.0.0.1"),
        () => shutdown(server, options.shutdownGraceMs ?? 5000)
      )
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address
      return { url: `http://${host}:${address.port}`, host: address.address, port: address.port }
    })
  )
