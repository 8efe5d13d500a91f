/**
 * A protocol's client on an HTTP client: the one place that knows every protocol's transport.
 * @internal
 */
import { makeConnectTransport } from "../connect/client.js"
import { makeGrpcTransport } from "../grpc/client.js"
import type { HttpClientAdapter } from "../http.js"
import type { Transport } from "../transport.js"
import type { ClientConfig } from "./options.js"

/** @internal */
export type ClientProtocol = "connect" | "grpc" | "grpc-web"

/** @internal */
export const makeTransport = (protocol: ClientProtocol, http: HttpClientAdapter, config: ClientConfig): Transport => ({
  ...(protocol === "connect" ? makeConnectTransport(http, config) : makeGrpcTransport(http, config, protocol === "grpc-web")),
  peer: { protocol, baseUrl: config.baseUrl }
})
