/**
 * The client-under-test: reads size-delimited ClientCompatRequests from stdin, makes each RPC
 * with the library's client (concurrently, since the runner sends every case at once and waits
 * a limited time for each), and writes size-delimited ClientCompatResponses.
 *
 * Run by the conformance runner (see run.mjs):
 * `node --conditions=connect-effect-source --import tsx conformance/client.ts [--transport httpclient|undici|http2]`,
 * on `ConnectTransport.layer` over NodeHttpClient's undici (the default), on
 * `NodeTransport.layerUndici`, or on `NodeTransport.layerHttp2`.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { ConnectTransport, type Transport } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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

type Transports = (options: TransportOptions) => Layer.Layer<Transport.Transport>

/** An undici Agent trusting the server's certificate (and presenting the client's), closed with the Layer. */
const agentLayer = (tls: TransportOptions["tls"]) =>
  Layer.scoped(
    NodeHttpClient.Dispatcher,
    Effect.acquireRelease(
      Effect.sync(() => new Agent(tls === undefined ? {} : { connect: { ...tls } })),
      (agent) => Effect.promise(() => agent.destroy())
    )
  )

/** The options of a transport, without the test's own. */
const transportOptions = ({ http2: _, tls: __, ...options }: TransportOptions) => options

/** The options of a transport on an HttpClient, which cannot see trailers, so no gRPC (run.mjs skips those cases). */
const httpClientOptions = (options: TransportOptions) => {
  const { protocol, ...rest } = transportOptions(options)
  if (protocol === "grpc") throw new Error("gRPC needs HTTP trailers, which an HttpClient does not show")
  return { ...rest, protocol }
}

/**
 * Every client's transport: the one the command line names (an HTTP/1.1 one, or node:http2).
 * Each HTTP/1.1 client gets an undici Agent of its own, which is where its TLS settings go.
 */
const transportsOf = (name: string | undefined): Effect.Effect<Transports> => {
  switch (name) {
    case undefined:
    case "httpclient":
      return Effect.succeed((options) =>
        ConnectTransport.layer(httpClientOptions(options)).pipe(
          Layer.provide(NodeHttpClient.layerUndiciWithoutDispatcher),
          Layer.provide(agentLayer(options.tls))
        )
      )
    case "undici":
      return Effect.succeed((options) =>
        Layer.unwrapScoped(Effect.map(NodeHttpClient.Dispatcher, (dispatcher) =>
          NodeTransport.layerUndici({ ...transportOptions(options), dispatcher }))).pipe(Layer.provide(agentLayer(options.tls)))
      )
    case "http2":
      return Effect.succeed((options) => NodeTransport.layerHttp2({ ...transportOptions(options), ...options.tls }))
    default:
      return Effect.dieMessage(`unknown --transport ${name}: expected httpclient, undici or http2`)
  }
}

const main = Effect.gen(function*() {
  const transport = yield* transportsOf(parseArgs({ options: { transport: { type: "string" } } }).values.transport)
  const clientFor = yield* makeClients(transport)
  yield* readFrames.pipe(
    // Clients are looked up here, one request at a time, so that each is built once.
    Stream.mapEffect((frame) => {
      const request = fromBinary(ClientCompatRequestSchema, frame)
      return Effect.map(Effect.either(clientFor(request)), (client) => ({ request, client }))
    }),
    // Cases wait here, in the stream, for one of the slots; not as hundreds of forked fibers on a
    // semaphore: effect 3.22's Semaphore wakes every waiter at each release, and with ~600 waiters
    // that cost gigabytes over a full run.
    Stream.mapEffect(({ client, request }) =>
      Effect.flatMap(client, (c) => invoke(request, c)).pipe(
        Effect.match({
          onFailure: (unsupported) => errorResponse(request, unsupported.message),
          onSuccess: (result) =>
            create(ClientCompatResponseSchema, { testName: request.testName, result: { case: "response", value: result } })
        }),
        Effect.flatMap(respond)
      ), { concurrency: maxConcurrentCases, unordered: true }),
    Stream.runDrain
  )
})

runMain(Effect.scoped(main))
