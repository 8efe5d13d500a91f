/**
 * Test servers on loopback, each owned by a Scope: ours (node:http fast path) and
 * connect-node's.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node"
import { ConnectServer } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { TestService } from "../gen/connecteffect/test/v1/test_pb.js"
import { connectNodeRoutes, TestServiceLive } from "./testService.js"

/** Our server with TestService, on a free port. */
export const ourServer = (options: Omit<ConnectServer.ServeOptions<[typeof TestService]>, "services"> = {}) =>
  ConnectServer.layer({ ...options, services: [TestService] }).pipe(Layer.provide(TestServiceLive))

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
