// connect-effect mounted in an @effect/platform HttpRouter, served by NodeHttpServer: the path
// for programs that already serve HTTP with @effect/platform (its defaults kept, tracing included).
import { HttpRouter, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Deferred, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { ConnectServer } from "../../src/node.js"
import { ElizaService } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { ElizaLive } from "./connect-effect.js"

export const serve = (port: number): Promise<void> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const listening = yield* Deferred.make<void>()
      const app = yield* ConnectServer.toHttpApp({ services: [ElizaService] })
      const router = HttpRouter.empty.pipe(HttpRouter.all(`/${ElizaService.typeName}/*`, app))
      const Announce = Layer.effectDiscard(Effect.flatMap(HttpServer.HttpServer, () => Deferred.succeed(listening, undefined)))
      const ServerLive = Layer.merge(HttpServer.serve(router), Announce).pipe(
        Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
      )
      yield* Layer.launch(ServerLive).pipe(Effect.orDie, Effect.forkDaemon)
      yield* Deferred.await(listening)
    }).pipe(Effect.provide(ElizaLive))
  )
