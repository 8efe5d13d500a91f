// Our client: ConnectClient over ConnectTransport on @effect/platform-node's undici HttpClient.
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, ManagedRuntime } from "effect"
import { ConnectClient, ConnectTransport } from "../../src/index.js"
import { ElizaService } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { saySentence } from "../workload.js"
import type { Counts, Phase } from "../client-load.js"

export const makePhase = async (url: string, headers: Record<string, string>): Promise<Phase> => {
  const runtime = ManagedRuntime.make(
    ConnectTransport.layer({ baseUrl: url, codec: "binary" }).pipe(Layer.provide(NodeHttpClient.layerUndici))
  )
  const client = await runtime.runPromise(ConnectClient.make(ElizaService))
  return (concurrency, until) => {
    const counts: Counts = { calls: 0, failures: 0 }
    const loop = Effect.whileLoop({
      while: () => Date.now() < until,
      body: () =>
        Effect.match(client.say({ sentence: saySentence }, { headers }), {
          onFailure: () => counts.failures++,
          onSuccess: () => counts.calls++
        }),
      step: () => {}
    })
    const all = Effect.forEach(Array.from({ length: concurrency }), () => loop, { concurrency, discard: true })
    return runtime.runPromise(Effect.as(all, counts))
  }
}
