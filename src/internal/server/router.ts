/**
 * Routes `/package.Service/Method` to its implementation, then to the first protocol that
 * accepts the request (the first of all when none does: it answers in its own terms why not).
 * Refusals run in between, headers known and body untouched: a server shutting down, the limit
 * on concurrent calls, the request gate.
 * @internal
 */
import type { DescService } from "@bufbuild/protobuf"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import { ConnectError } from "../connectError.js"
import type { RequestGate } from "../interceptor/server.js"
import { serverShuttingDown } from "./calls.js"
import { errorOfCause } from "./failure.js"
import type { MethodImplementation, Registered } from "./service.js"
import type { ServerHandler, ServerRequest, ServerResponse } from "../http.js"
import type { ServerConfig, ServerProtocol } from "./protocol.js"

/**
 * Counts the calls being served, from routing until their response is written (the call's
 * Scope), and refuses one past `max` with resource_exhausted before its body is read.
 */
const admission = (max: number) => {
  let inFlight = 0
  const overloaded = new ConnectError({
    code: "resource_exhausted",
    message: `the server is serving its maximum of ${max} calls at once (maxConcurrentCalls): retry later`
  })
  const leave = Effect.sync(() => {
    inFlight--
  })
  // Scope.addFinalizer, not acquireRelease: its finalizer restores the fiber's refs and context
  // as they were at acquisition, a diff and a patch that cost a unary call a tenth of its CPU.
  const enter = (scope: Scope.Scope) =>
    Effect.uninterruptible(Effect.suspend(() => {
      inFlight++
      return Scope.addFinalizer(scope, leave)
    }))
  return (
    request: ServerRequest,
    impl: MethodImplementation,
    protocol: ServerProtocol,
    scope: Scope.Scope,
    serve: () => Effect.Effect<ServerResponse>
  ): Effect.Effect<ServerResponse> =>
    inFlight >= max ? Effect.succeed(protocol.reject(request, impl.method, overloaded)) : Effect.zipRight(enter(scope), serve())
}

/** What stands between a routed call and its protocol. @internal */
export interface Checks {
  /** Refuses calls from their headers (the user's request gate). */
  readonly gate?: RequestGate | undefined
  /** How many calls may be served at once. */
  readonly maxConcurrentCalls?: number | undefined
  /** Whether the server is shutting down: a call routed then is refused with unavailable. */
  readonly shuttingDown?: (() => boolean) | undefined
  /**
   * Whether the user's hooks (gate, interceptors) run in the call: they find its Scope in the
   * context, so that what they acquire is released when the call ends.
   */
  readonly hooked?: boolean | undefined
}

/** @internal */
export const makeRouter = (
  services: ReadonlyArray<Registered<DescService>>,
  protocols: readonly [ServerProtocol, ...Array<ServerProtocol>],
  config: ServerConfig,
  { gate, hooked = false, maxConcurrentCalls, shuttingDown }: Checks = {}
): ServerHandler => {
  const routes = new Map<string, MethodImplementation>()
  for (const { service, methods } of services) {
    for (const impl of methods) routes.set(`/${service.typeName}/${impl.method.name}`, impl)
  }
  const [fallback] = protocols
  const admit = maxConcurrentCalls === undefined ? undefined : admission(maxConcurrentCalls)
  const route: ServerHandler = (request, scope) => {
    const protocol = protocols.find((p) => p.accepts(request)) ?? fallback
    const impl = routes.get(request.path)
    if (impl === undefined) return Effect.succeed(protocol.notFound(request))
    if (shuttingDown?.()) return Effect.succeed(protocol.reject(request, impl.method, serverShuttingDown))
    const serve = () => hooked ? Scope.extend(gated(request, impl, protocol, scope), scope) : gated(request, impl, protocol, scope)
    return admit === undefined ? serve() : admit(request, impl, protocol, scope, serve)
  }
  const gated = (
    request: ServerRequest,
    impl: MethodImplementation,
    protocol: ServerProtocol,
    scope: Scope.Scope
  ): Effect.Effect<ServerResponse> => {
    if (gate === undefined) return protocol.serve(impl, request, config, scope)
    return Effect.matchCauseEffect(
      gate({ method: impl.method, headers: request.headers, httpVersion: request.connection.httpVersion }),
      {
        onFailure: (cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause as Cause.Cause<never>)
            : Effect.map(errorOfCause(cause), (error) => protocol.reject(request, impl.method, error)),
        onSuccess: () => protocol.serve(impl, request, config, scope)
      }
    )
  }
  return route
}
