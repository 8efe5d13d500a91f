// The reference client: connect-node's createClient over createConnectTransport, HTTP/1.1.
import { createClient, type Transport } from "@connectrpc/connect"
import { createConnectTransport } from "@connectrpc/connect-node"
import { ElizaService } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { saySentence } from "../workload.js"
import type { Phase } from "../client-load.js"
import { promiseLoops } from "./promiseLoops.js"

export const makePhase = (url: string, headers: Record<string, string>): Promise<Phase> =>
  makePhaseOn(createConnectTransport({ baseUrl: url, httpVersion: "1.1" }), headers)

/** Call loops of connect-node's client over `transport`. */
export const makePhaseOn = async (transport: Transport, headers: Record<string, string>): Promise<Phase> => {
  const client = createClient(ElizaService, transport)
  return promiseLoops(() => client.say({ sentence: saySentence }, { headers }))
}
