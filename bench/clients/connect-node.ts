// The reference client: connect-node's createClient over createConnectTransport, HTTP/1.1.
import { createClient } from "@connectrpc/connect"
import { createConnectTransport } from "@connectrpc/connect-node"
import { ElizaService } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { saySentence } from "../workload.js"
import type { Counts, Phase } from "../client-load.js"

export const makePhase = async (url: string, headers: Record<string, string>): Promise<Phase> => {
  const client = createClient(ElizaService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }))
  return async (concurrency, until) => {
    const counts: Counts = { calls: 0, failures: 0 }
    const loop = async () => {
      while (Date.now() < until) {
        try {
          await client.say({ sentence: saySentence }, { headers })
          counts.calls++
        } catch {
          counts.failures++
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, loop))
    return counts
  }
}
