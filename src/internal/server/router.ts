/**
 * Routes `/package.Service/Method` to its implementation, then to the first protocol that
 * accepts the request (the first of all when none does: it answers in its own terms why not).
 * The request gate, if any, runs in between: headers known, body untouched.
 * @internal
 */
import type { DescService } from "@bufbuild/protobuf"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type { RequestGate } from "../interceptor/server.js"
import { errorOfCause } from "./failure.js"
import type { MethodImplementation, Registered } from "./service.js"
import type { ServerHandler } from "../http.js"
import type { ServerConfig, ServerProtocol } from "./protocol.js"

/** @internal */
export const makeRouter = (
  services: ReadonlyArray<Registered<DescService>>,
  protocols: readonly [ServerProtocol, ...Array<ServerProtocol>],
  config: ServerConfig,
  gate?: RequestGate
): ServerHandler => {
  const routes = new Map<string, MethodImplementation>()
  for (const { service, methods } of services) {
    for (const impl of methods) routes.set(`/${service.typeName}/${impl.method.name}`, impl)
  }
  const [fallback] = protocols
  return (request) => {
    const protocol = protocols.find((p) => p.accepts(request)) ?? fallback
    const impl = routes.get(request.path)
    if (impl === undefined) return Effect.succeed(protocol.notFound(request))
    if (gate === undefined) return protocol.serve(impl, request, config)
    return Effect.matchCauseEffect(
      gate({ method: impl.method, headers: request.headers, httpVersion: request.connection.httpVersion }),
      {
        onFailure: (cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause as Cause.Cause<never>)
            : Effect.map(errorOfCause(cause), (error) => protocol.reject(request, impl.method, error)),
        onSuccess: () => protocol.serve(impl, request, config)
      }
    )
  }
}
