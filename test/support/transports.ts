/**
 * The client transports every client test runs over: the Connect transport on an
 * @effect/platform HttpClient, and on an undici Dispatcher directly.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { ConnectTransport, type Transport } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Layer from "effect/Layer"

/** The options both transports take. */
export type TransportOptions = Omit<ConnectTransport.Options, "httpTracing">

export interface ClientTransport {
  readonly name: string
  readonly layer: (options: TransportOptions) => Layer.Layer<Transport.Transport>
}

export const clientTransports: ReadonlyArray<ClientTransport> = [
  {
    name: "ConnectTransport.layer on NodeHttpClient.layerUndici",
    layer: (options) => ConnectTransport.layer(options).pipe(Layer.provide(NodeHttpClient.layerUndici))
  },
  { name: "NodeTransport.layerUndici", layer: NodeTransport.layerUndici }
]
