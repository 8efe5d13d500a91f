/**
 * Routes `/package.Service/Method` to its implementation, then to the first protocol that
 * accepts the request (the first of all when none does: it answers in its own terms why not).
 * @internal
 */
import type { DescService } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import type { MethodImplementation, Registered } from "./service.js"
import type { ServerHandler } from "../http.js"
import type { ServerConfig, ServerProtocol } from "./protocol.js"

/** @internal */
export const makeRouter = (
  services: ReadonlyArray<Registered<DescService>>,
  protocols: readonly [ServerProtocol, ...Array<ServerProtocol>],
  config: ServerConfig
): ServerHandler => {
  const routes = new Map<string, MethodImplementation>()
  for (const { service, methods } of services) {
    for (const impl of methods) routes.set(`/${service.typeName}/${impl.method.name}`, impl)
  }
  const [fallback] = protocols
  return (request) => {
    const protocol = protocols.find((p) => p.accepts(request)) ?? fallback
    const impl = routes.get(request.path)
    return impl === undefined ? Effect.succeed(protocol.notFound(request)) : protocol.serve(impl, request, config)
  }
}
