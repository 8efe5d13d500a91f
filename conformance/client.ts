/**
 * The client-under-test: reads size-delimited ClientCompatRequests from stdin, makes each RPC
 * with the library's client (concurrently, since the runner sends every case at once and waits
 * a limited time for each), and writes size-delimited ClientCompatResponses.
 *
 * Run by the conformance runner (see run.mjs): `node --conditions=connect-effect-source --import tsx conformance/client.ts`.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Stream from "effect/Stream"
import {
  type ClientCompatRequest,
  ClientCompatRequestSchema,
  type ClientCompatResponse,
  ClientCompatResponseSchema
} from "./gen/connectrpc/conformance/v1/client_compat_pb.js"
import { makeClients } from "./clients.js"
import { invoke } from "./invoke.js"
import { runMain } from "./runtime.js"
import { readFrames, writeFrame } from "./stdio.js"

const respond = (response: ClientCompatResponse) => writeFrame(toBinary(ClientCompatResponseSchema, response))

const errorResponse = (request: ClientCompatRequest, message: string) =>
  create(ClientCompatResponseSchema, { testName: request.testName, result: { case: "error", value: { message } } })

/**
 * How many cases run at once. The runner sends all ~600 at once; starting them all together
 * makes the 2-second deadline cases miss their deadline on a busy 2-core machine, while a few
 * dozen at a time finishes the run about as fast.
 */
const maxConcurrentCases = 48

const main = Effect.gen(function*() {
  const clientFor = yield* makeClients
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
