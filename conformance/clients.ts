/**
 * The client-under-test's clients: one generated ConformanceServiceClient on its own
 * ConnectTransport per distinct configuration (server address, codec, compression, receive
 * limit, GET), built on first use.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { type Compression, type ConnectTransport, type Transport } from "connect-effect"
import { NodeCompression } from "connect-effect/node"
import type { ClientCompatRequest } from "./gen/connectrpc/conformance/v1/client_compat_pb.js"
import {
  Codec,
  Compression as ProtoCompression,
  HTTPVersion,
  Protocol
} from "./gen/connectrpc/conformance/v1/config_pb.js"
import {
  ConformanceServiceClient,
  type ConformanceServiceClientMethods
} from "./gen/connectrpc/conformance/v1/service_connect_effect.js"
import { UnsupportedRequest } from "./invoke.js"

const compressions: ReadonlyMap<ProtoCompression, Compression.Compression | undefined> = new Map([
  [ProtoCompression.UNSPECIFIED, undefined],
  [ProtoCompression.IDENTITY, undefined],
  [ProtoCompression.GZIP, NodeCompression.gzip],
  [ProtoCompression.BR, NodeCompression.brotli],
  // Where this Node has zstd: run.mjs then lists it in the config.
  ...Option.toArray(Option.map(NodeCompression.zstd, (zstd) => [ProtoCompression.ZSTD, zstd] as const))
])

const protocols: ReadonlyMap<Protocol, TransportOptions["protocol"]> = new Map([
  [Protocol.CONNECT, "connect"],
  [Protocol.GRPC, "grpc"],
  [Protocol.GRPC_WEB, "grpc-web"]
])

const unsupported = (what: string) => Effect.fail(new UnsupportedRequest({ message: `unsupported ${what}` }))

/** The transport options a request asks for, or why they cannot be had. */
const optionsOf = (request: ClientCompatRequest): Effect.Effect<TransportOptions, UnsupportedRequest> => {
  const protocol = protocols.get(request.protocol)
  if (protocol === undefined) return unsupported(`protocol ${Protocol[request.protocol]}`)
  if (request.httpVersion !== HTTPVersion.HTTP_VERSION_1 && request.httpVersion !== HTTPVersion.HTTP_VERSION_2) {
    return unsupported(`HTTP version ${HTTPVersion[request.httpVersion]}`)
  }
  if (request.codec !== Codec.PROTO && request.codec !== Codec.JSON) return unsupported(`codec ${Codec[request.codec]}`)
  if (!compressions.has(request.compression)) return unsupported(`compression ${ProtoCompression[request.compression]}`)
  const sendCompression = compressions.get(request.compression)
  const pem = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
  const tls = request.serverTlsCert.byteLength === 0 ? undefined : {
    ca: pem(request.serverTlsCert),
    ...(request.clientTlsCreds === undefined
      ? {}
      : { cert: pem(request.clientTlsCreds.cert), key: pem(request.clientTlsCreds.key) })
  }
  return Effect.succeed({
    protocol,
    http2: request.httpVersion === HTTPVersion.HTTP_VERSION_2,
    ...(tls === undefined ? {} : { tls }),
    baseUrl: `${tls === undefined ? "http" : "https"}://${request.host}:${request.port}`,
    codec: request.codec === Codec.JSON ? "json" : "binary",
    // The reference server checks that every request uses the case's compression.
    compressMinBytes: 0,
    acceptCompression: NodeCompression.defaults,
    useHttpGet: request.useGetHttpMethod,
    ...(sendCompression === undefined ? {} : { sendCompression }),
    ...(request.messageReceiveLimit === 0 ? {} : { readMaxBytes: request.messageReceiveLimit })
  })
}

/**
 * The options of a Connect transport that every transport takes, the HTTP version asked for,
 * and the TLS trust and client certificate (PEM) when the server speaks TLS.
 */
export interface TransportOptions extends Omit<ConnectTransport.Options, "httpTracing" | "protocol"> {
  readonly protocol: "connect" | "grpc" | "grpc-web"
  readonly http2: boolean
  readonly tls?: { readonly ca: string; readonly cert?: string; readonly key?: string }
}

/**
 * A function from a request to the client it needs, on transports made by `transport`; clients
 * live as long as the scope.
 */
export const makeClients = <R>(
  transport: (options: TransportOptions) => Layer.Layer<Transport.Transport, never, R>
): Effect.Effect<
  (request: ClientCompatRequest) => Effect.Effect<ConformanceServiceClientMethods, UnsupportedRequest>,
  never,
  R | Scope.Scope
> => Effect.gen(function*() {
  const scope = yield* Effect.scope
  const context = yield* Effect.context<R>()
  const cache = new Map<string, ConformanceServiceClientMethods>()
  return (request) =>
    Effect.flatMap(optionsOf(request), (options) => {
      const key = JSON.stringify({ ...options, sendCompression: options.sendCompression?.name })
      const cached = cache.get(key)
      if (cached !== undefined) return Effect.succeed(cached)
      const layer = Layer.provide(ConformanceServiceClient.layer, transport(options))
      return Layer.buildWithScope(layer, scope).pipe(
        Effect.map((built) => Context.get(built, ConformanceServiceClient)),
        Effect.tap((client) => Effect.sync(() => cache.set(key, client))),
        Effect.provide(context)
      )
    })
})
