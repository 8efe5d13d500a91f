// Our gRPC client: ConnectClient over NodeTransport.layerHttp2 with protocol grpc (h2c).
import { NodeTransport } from "../../src/node.js"
import { makePhaseOn } from "./connect-effect.js"
import type { Phase } from "../client-load.js"

export const makePhase = (url: string, headers: Record<string, string>): Promise<Phase> =>
  makePhaseOn(NodeTransport.layerHttp2({ baseUrl: url, protocol: "grpc" }), headers)
