/**
 * The Connect protocol client transport on any @effect/platform `HttpClient`: FetchHttpClient in
 * browsers, Deno, Bun and edge runtimes, NodeHttpClient on Node. On Node, `NodeTransport` from
 * `connect-effect/node` is faster (undici directly) and speaks HTTP/2 (full-duplex bidi).
 *
 * @since 0.1.0
 */
import type { DescService } from "@bufbuild/protobuf"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Compression from "./Compression.js"
import type * as ConnectService from "./ConnectService.js"
import { fromServerHandler, inMemoryBaseUrl } from "./internal/client/inMemory.js"
import { fromHttpClient } from "./internal/platform/httpClient.js"
import { makeTransport } from "./internal/client/protocols.js"
import { clientConfig, defaultMaxBytes, type TransportOptions } from "./internal/client/options.js"
import { connectProtocol } from "./internal/connect/server.js"
import { grpcProtocol, grpcWebProtocol } from "./internal/grpc/server.js"
import type { HooksContext, ServerHooks, ServerInterceptor } from "./internal/interceptor/server.js"
import { makeServerHandler } from "./internal/server/handler.js"
import * as Transport from "./internal/transport.js"

/**
 * The options of a Connect transport.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<TransportOptions, "protocol"> {
  /**
   * `connect` (the default) or `grpc-web`. (gRPC needs HTTP trailers, which an `HttpClient`
   * does not show: use `NodeTransport.layerHttp2` from `connect-effect/node`.)
   *
   * @since 0.2.0
   */
  readonly protocol?: "connect" | "grpc-web"
}

export {
  /**
   * The default limit of a message's size, the same as gRPC's.
   *
   * @since 0.1.0
   * @category constants
   */
  defaultMaxBytes
} from "./internal/client/options.js"

/**
 * Builds a transport of the Connect protocol (or of gRPC-Web, see `protocol`) on the HttpClient
 * in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Transport.Transport, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) =>
    makeTransport(
      options.protocol ?? "connect",
      fromHttpClient(options.httpTracing === true ? client : HttpClient.withTracerDisabledWhen(client, () => true)),
      clientConfig(options, Compression.defaults)
    ))

/**
 * A Layer of the Connect transport, for clients made with `ConnectClient.make`.
 *
 * @example
 * ```ts
 * program.pipe(
 *   Effect.provide(ConnectTransport.layer({ baseUrl: "http://localhost:8080" })),
 *   Effect.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Transport.Transport, never, HttpClient.HttpClient> =>
  Layer.effect(Transport.Transport, make(options))

/**
 * The options of an in-memory transport: the services it calls, the server's hooks, and the
 * client's options (all but `baseUrl`).
 *
 * @since 0.2.0
 * @category models
 */
export interface InMemoryOptions<
  Services extends ReadonlyArray<DescService>,
  Interceptors extends ReadonlyArray<ServerInterceptor<any>> = [],
  GateContext = never
> extends Omit<TransportOptions, "baseUrl" | "httpTracing">, ServerHooks<Interceptors, GateContext> {
  /** The services to call; the implementation of each must be in context (`ConnectService.toLayer`). */
  readonly services: Services
}

/**
 * A transport that calls the services' handlers in the same process, with no socket: the way to
 * test services and their clients. Every call goes through the real protocol (Connect unless
 * `protocol` says `grpc` or `grpc-web`) and codec, both ways, so a message that would not
 * serialize fails here too; errors with details, headers, trailers, deadlines and interruption
 * behave as over the network. The server's `interceptors` and `requestGate` run as on a server.
 *
 * @example
 * ```ts
 * it.effect("says hello", () =>
 *   Effect.gen(function*() {
 *     const eliza = yield* ConnectClient.make(ElizaService)
 *     expect((yield* eliza.say({ sentence: "Hi" })).sentence).toBe("You said: Hi")
 *   }).pipe(Effect.provide(ConnectTransport.layerInMemory({ services: [ElizaService] }).pipe(Layer.provide(ElizaLive)))))
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerInMemory = <
  const Services extends ReadonlyArray<DescService>,
  const Interceptors extends ReadonlyArray<ServerInterceptor<any>> = [],
  GateContext = never
>(
  options: InMemoryOptions<Services, Interceptors, GateContext>
): Layer.Layer<Transport.Transport, never, ConnectService.Implementations<Services> | HooksContext<Interceptors, GateContext>> =>
  Layer.effect(
    Transport.Transport,
    Effect.map(
      makeServerHandler({
        services: options.services,
        protocols: [connectProtocol, grpcProtocol, grpcWebProtocol],
        config: {
          readMaxBytes: defaultMaxBytes,
          writeMaxBytes: defaultMaxBytes,
          compressMinBytes: 1024,
          acceptCompression: Compression.defaults
        },
        interceptors: options.interceptors,
        requestGate: options.requestGate
      }),
      (handler) =>
        makeTransport(
          options.protocol ?? "connect",
          fromServerHandler(handler),
          clientConfig({ ...options, baseUrl: inMemoryBaseUrl }, Compression.defaults)
        )
    )
  )
