/**
 * Routes `/package.Service/Method` to its implementation, then to the protocol the request
 * speaks (Connect today; gRPC and gRPC-Web plug in here).
 * @internal
 */
import { ConnectError } from "../../ConnectError.js"
import type { MethodImplementation, Registered } from "../../ConnectService.js"
import { handleConnect, type ServerConfig, unaryErrorResponse } from "../connect/server.js"
import type { ServerHandler } from "../http.js"
import * as Effect from "effect/Effect"
import type { DescService } from "@bufbuild/protobuf"

/** @internal */
export const makeRouter = (
  services: ReadonlyArray<Registered<DescService>>,
  config: ServerConfig
): ServerHandler => {
  const routes = new Map<string, MethodImplementation>()
  for (const { service, methods } of services) {
    for (const impl of methods) routes.set(`/${service.typeName}/${impl.method.name}`, impl)
  }
  return (request) => {
    const impl = routes.get(request.path)
    if (impl === undefined) {
      const error = new ConnectError({ code: "unimplemented", message: `${request.path} is not implemented` })
      return Effect.succeed({ ...unaryErrorResponse(error, undefined), status: 404 })
    }
    return handleConnect(impl, request, config)
  }
}
