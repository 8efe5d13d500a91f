// Our client on its fastest path: ConnectClient over NodeTransport.layerUndici (no HttpClient).
import { Effect, type Layer, ManagedRuntime } from "effect"
import { ConnectClient, type Transport } from "../../src/index.js"
import { NodeTransport } from "../../src/node.js"
import { ElizaService } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { saySentence } from "../workload.js"
import type { Counts, Phase } from "../client-load.js"

export const makePhase = (url: string, headers: Record<string, string>): Promise<Phase> =>
  makePhaseOn(NodeTransport.layerUndici({ baseUrl: url, codec: "binary" }), headers)

/** Call loops of our client over the transport `layer` makes. */
export const makePhaseOn = async (layer: Layer.Layer<Transport.Transport>, headers: Record<string, string>): Promise<Phase> => {
  const runtime = ManagedRuntime.make(layer)
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
