/**
 * `npm run demo:server -- --port P`: serves Eliza on 127.0.0.1:P until SIGINT or SIGTERM,
 * then shuts down gracefully.
 */
import { NodeRuntime } from "@effect/platform-node"
import { ConnectServer } from "connect-effect"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { flag } from "./args.js"
import { ElizaService } from "./gen/connectrpc/eliza/v1/eliza_pb.js"
import { ElizaLive } from "./service.js"

const port = Number(flag("port") ?? "8080")
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port: ${flag("port")}`)
  process.exit(2)
}

const ServerLive = ConnectServer.layer({ services: [ElizaService], port, host: flag("host") ?? "127.0.0.1" }).pipe(
  Layer.provide(ElizaLive)
)

const main = Effect.gen(function*() {
  const server = yield* ConnectServer.ConnectServer
  yield* Console.log(`Eliza is listening on ${server.url}`)
  return yield* Effect.never
}).pipe(
  Effect.provide(ServerLive),
  Effect.onInterrupt(() => Console.log("Eliza shut down."))
)

NodeRuntime.runMain(main)
