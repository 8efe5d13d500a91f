/**
 * Test servers on loopback, each owned by a Scope: ours (node:http fast path, or the HttpApp on
 * @effect/platform's NodeHttpServer) and connect-node's.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeHttpServer } from "@effect/platform-node"
import { ConnectServer } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { TestService } from "../gen/connecteffect/test/v1/test_pb.js"
import { connectNodeRoutes, TestServiceLive } from "./testService.js"

/** Our server with TestService, on a free port. */
export const ourServer = (options: Omit<ConnectServer.ServeOptions<[typeof TestService]>, "services"> = {}) =>
  ConnectServer.layer({ ...options, services: [TestService] }).pipe(Layer.provide(TestServiceLive))

/** Our server with TestService, started in the Scope: its URL. */
export const ourServerUrl = (options: Omit<ConnectServer.ServeOptions<[typeof TestService]>, "services"> = {}) =>
  Effect.map(Layer.build(ourServer(options)), (context) => Context.get(context, ConnectServer.ConnectServer).url)

/** TestService as an HttpApp answering every path, on NodeHttpServer in the Scope: its URL. */
export const ourPlatformServerUrl = (options: Omit<ConnectServer.HandlerOptions<[typeof TestService]>, "services"> = {}) =>
  Effect.gen(function*() {
    const app = yield* ConnectServer.toHttpApp({ ...options, services: [TestService] })
    const server = yield* Layer.build(NodeHttpServer.layer(Http.createServer, { port: 0, host: "127.0.0.1" }))
    yield* HttpServer.serveEffect(HttpRouter.empty.pipe(HttpRouter.all("*", app))).pipe(Effect.provide(server))
    return HttpServer.formatAddress(Context.get(server, HttpServer.HttpServer).address)
  }).pipe(Effect.provide(TestServiceLive))

/** Starts a node:http server with `listener` on a free loopback port, closed with the Scope. */
export const nodeServer = (listener: Http.RequestListener) =>
  Effect.acquireRelease(
    Effect.async<{ server: Http.Server; url: string }>((resume) => {
      const server = Http.createServer(listener)
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}` }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/** connect-node serving TestService (all protocols, gzip and br), on a free port. */
export const connectNodeServer = (options: { readMaxBytes?: number } = {}) =>
  Effect.map(nodeServer(connectNodeAdapter({ routes: connectNodeRoutes, ...options })), ({ url }) => url)
