// connect-node's gRPC client: createClient over createGrpcTransport (node:http2, h2c).
import { createGrpcTransport } from "@connectrpc/connect-node"
import { makePhaseOn } from "./connect-node.js"
import type { Phase } from "../client-load.js"

export const makePhase = (url: string, headers: Record<string, string>): Promise<Phase> =>
  makePhaseOn(createGrpcTransport({ baseUrl: url }), headers)
