/**
 * `npm run demo`: starts Eliza on a free port, talks to her over real HTTP through all four
 * RPCs, first in the Connect protocol over HTTP/1.1, then in gRPC over HTTP/2 (Converse full
 * duplex), prints the conversation, and stops the server.
 */
import { ConnectServer } from "connect-effect/node"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { talkTo } from "./conversation.js"
import { ElizaService } from "./gen/connectrpc/eliza/v1/eliza_pb.js"
import { ElizaLive } from "./service.js"

const demo = Effect.gen(function*() {
  const server = yield* ConnectServer.ConnectServer
  yield* Console.log(`Eliza is listening on ${server.url}\n\n-- Connect over HTTP/1.1 --`)
  yield* talkTo({ baseUrl: server.url, http: "1.1", protocol: "connect" })
  yield* Console.log("\n-- gRPC over HTTP/2 (h2c), Converse full duplex --")
  yield* talkTo({ baseUrl: server.url, http: "2", protocol: "grpc" })
}).pipe(
  Effect.provide(ConnectServer.layer({ services: [ElizaService], port: 0 }).pipe(Layer.provide(ElizaLive)))
)

Effect.runPromiseExit(demo).then((exit) => {
  if (exit._tag === "Failure") {
    console.error("The demo failed:", exit.cause)
    process.exitCode = 1
  }
})
