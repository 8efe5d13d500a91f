/**
 * A server's handler from its options, the same for every HTTP server that carries it (Node's,
 * an HttpApp, the in-memory transport): the services' implementations from the context, the
 * server's interceptors around each, and the request gate before all.
 * @internal
 */
import type { DescService } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import type { ConnectError } from "../connectError.js"
import { callContext } from "../callContext.js"
import type { ServerHandler } from "../http.js"
import { interceptImplementation, type RequestGate, type ServerInterceptor } from "../interceptor/server.js"
import type { ServerConfig, ServerProtocol } from "./protocol.js"
import { makeRouter } from "./router.js"
import { serviceTag } from "./service.js"

/** @internal */
export interface HandlerSetup {
  readonly services: ReadonlyArray<DescService>
  readonly protocols: readonly [ServerProtocol, ...Array<ServerProtocol>]
  readonly config: ServerConfig
  readonly interceptors?: ReadonlyArray<ServerInterceptor<any>> | undefined
  readonly requestGate?: RequestGate<any> | undefined
  /** How many calls may be served at once; the rest are refused before their body is read. */
  readonly maxConcurrentCalls?: number | undefined
  /** Whether the server is shutting down, refusing new calls. */
  readonly shuttingDown?: (() => boolean) | undefined
}

/** @internal */
export const makeServerHandler = (setup: HandlerSetup): Effect.Effect<ServerHandler, never, any> =>
  Effect.gen(function*() {
    // The builder's Scope is left out: what a gate or an interceptor acquires belongs to the call.
    const context = callContext(yield* Effect.context<never>())
    const interceptors = setup.interceptors ?? []
    const registered = yield* Effect.forEach(setup.services, (service) => serviceTag(service))
    const services = interceptors.length === 0 ? registered : registered.map((r) => ({
      service: r.service,
      methods: r.methods.map((impl) => interceptImplementation(impl, interceptors, context))
    }))
    const gate = setup.requestGate
    return makeRouter(services, setup.protocols, setup.config, {
      gate: gate === undefined ? undefined : (request) => Effect.provide(gate(request), context) as Effect.Effect<void, ConnectError>,
      maxConcurrentCalls: setup.maxConcurrentCalls,
      shuttingDown: setup.shuttingDown,
      hooked: gate !== undefined || interceptors.length > 0
    })
  })
