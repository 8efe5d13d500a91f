/**
 * The client-under-test: reads size-delimited ClientCompatRequests from stdin, makes each RPC
 * with the library's client (concurrently, since the runner sends every case at once and waits
 * a limited time for each), and writes size-delimited ClientCompatResponses.
 *
 * Run by the conformance runner (see run.mjs):
 * `node --conditions=connect-effect-source --import tsx conformance/client.ts [--transport httpclient|undici]`,
 * on `ConnectTransport.layer` over NodeHttpClient's undici (the default), or on
 * `ConnectTransport.layerUndici` with one shared undici Agent.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { ConnectTransport, type Transport } from "connect-effect"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as FiberSet from "effect/FiberSet"
import * as Stream from "effect/Stream"
import {
  type ClientCompatRequest,
  ClientCompatRequestSchema,
  type ClientCompatResponse,
  ClientCompatResponseSchema
} from "./gen/connectrpc/conformance/v1/client_compat_pb.js"
import { makeClients, type TransportOptions } from "./clients.js"
import { invoke } from "./invoke.js"
import { runMain } from "./runtime.js"
import { readFrames, writeFrame } from "./stdio.js"
import { parseArgs } from "node:util"
import { Agent } from "undici"

const respond = (response: ClientCompatResponse) => writeFrame(toBinary(ClientCompatResponseSchema, response))

const errorResponse = (request: ClientCompatRequest, message: string) =>
  create(ClientCompatResponseSchema, { testName: request.testName, result: { case: "error", value: { message } } })

/**
 * How many cases run at once. The runner sends all ~600 at once, and the runner, its reference
 * server and this client share 2 cores: with 48 at a time, a trivial call took 1 to 3 seconds
 * on a slow day, and the 2-second deadline cases failed now and then. With 16, calls finish
 * well within their deadlines and the run takes as long (it is CPU-bound either way).
 */
const maxConcurrentCases = 16

type Transports = (options: TransportOptions) => Layer.Layer<Transport.Transport, never, HttpClient.HttpClient>

/** Every client's transport: the one the command line names. */
const transportsOf = (name: string | undefined): Effect.Effect<Transports, never, Scope.Scope> => {
  switch (name) {
    case undefined:
    case "httpclient":
      return Effect.succeed(ConnectTransport.layer)
    case "undici":
      return Effect.map(
        Effect.acquireRelease(Effect.sync(() => new Agent()), (agent) => Effect.promise(() => agent.destroy())),
        (dispatcher) => (options) => ConnectTransport.layerUndici({ ...options, dispatcher })
      )
    default:
      return Effect.dieMessage(`unknown --transport ${name}: expected httpclient or undici`)
  }
}

const main = Effect.gen(function*() {
  const transport = yield* transportsOf(parseArgs({ options: { transport: { type: "string" } } }).values.transport)
  const clientFor = yield* makeClients(transport)
  const running = yield* FiberSet.make()
  const slots = yield* Effect.makeSemaphore(maxConcurrentCases)
  yield* Stream.runForEach(readFrames, (frame) =>
    Effect.gen(function*() {
      const request = fromBinary(ClientCompatRequestSchema, frame)
      // Clients are looked up here, one request at a time, so that each is built once.
      const client = yield* Effect.either(clientFor(request))
      const outcome = Effect.flatMap(client, (c) => invoke(request, c)).pipe(
        Effect.match({
          onFailure: (unsupported) => errorResponse(request, unsupported.message),
          onSuccess: (result) =>
            create(ClientCompatResponseSchema, { testName: request.testName, result: { case: "response", value: result } })
        }),
        Effect.flatMap(respond),
        slots.withPermits(1)
      )
      yield* FiberSet.run(running, outcome)
    }))
  yield* FiberSet.awaitEmpty(running)
})

runMain(main.pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))
