// Our client on @effect/platform: ConnectClient over ConnectTransport.layer on NodeHttpClient's undici HttpClient.
import { NodeHttpClient } from "@effect/platform-node"
import { Layer } from "effect"
import { ConnectTransport } from "../../src/index.js"
import { makePhaseOn } from "./connect-effect.js"
import type { Phase } from "../client-load.js"

export const makePhase = (url: string, headers: Record<string, string>): Promise<Phase> =>
  makePhaseOn(ConnectTransport.layer({ baseUrl: url, codec: "binary" }).pipe(Layer.provide(NodeHttpClient.layerUndici)), headers)
