/**
 * The OpenTelemetry RPC semantic conventions, as both sides name spans, attributes and metrics:
 * one place, so that a client's and a server's telemetry line up.
 * @internal
 */
import type { DescMethod } from "@bufbuild/protobuf"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import { type Code, toNumber } from "../code.js"
import { isConnectError } from "../connectError.js"

/** `rpc.system`: gRPC-Web is gRPC's. @internal */
export type RpcSystem = "connect_rpc" | "grpc"

/** @internal */
export const rpcSystemOf = (protocol: "connect" | "grpc" | "grpc-web"): RpcSystem => protocol === "connect" ? "connect_rpc" : "grpc"

/** A span's name: `package.Service/Method`. @internal */
export const spanName = (method: DescMethod): string => `${method.parent.typeName}/${method.name}`

/** @internal */
export const methodAttributes = (method: DescMethod, system: RpcSystem | undefined): Record<string, unknown> => {
  const attributes: Record<string, unknown> = { "rpc.service": method.parent.typeName, "rpc.method": method.name }
  if (system !== undefined) attributes["rpc.system"] = system
  return attributes
}

/** The code a call ended with: `ok`, its ConnectError's code, or `unknown` for anything else. @internal */
export const codeOfExit = (exit: Exit.Exit<unknown, unknown>): Code | "ok" => {
  if (Exit.isSuccess(exit)) return "ok"
  if (Cause.isInterruptedOnly(exit.cause)) return "canceled"
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) && isConnectError(failure.value) ? failure.value.code : "unknown"
}

/**
 * The status attributes: gRPC's numeric status code always (0 for ok), Connect's code name
 * only on an error, as the conventions say.
 * @internal
 */
export const statusAttributes = (system: RpcSystem | undefined, code: Code | "ok"): Record<string, unknown> =>
  system === "grpc"
    ? { "rpc.grpc.status_code": code === "ok" ? 0 : toNumber(code) }
    : code === "ok"
    ? {}
    : { "rpc.connect_rpc.error_code": code }

/** `host` and `port` of a base URL, with the scheme's default port. @internal */
export const serverAttributes = (baseUrl: string): Record<string, unknown> => {
  if (!URL.canParse(baseUrl)) return {}
  const url = new URL(baseUrl)
  return {
    "server.address": url.hostname.replace(/^\[|\]$/g, ""),
    "server.port": url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port)
  }
}

/** The metrics of one side: calls started, calls finished by code, and their durations. @internal */
export interface RpcMetrics {
  readonly started: Metric.Metric.Counter<number>
  readonly finished: Metric.Metric.Counter<number>
  readonly duration: Metric.Metric.Histogram<number>
}

/** @internal */
export const rpcMetrics = (side: "client" | "server"): RpcMetrics => ({
  started: Metric.counter(`rpc.${side}.calls_started`, { description: "RPCs started" }),
  finished: Metric.counter(`rpc.${side}.calls_finished`, { description: "RPCs finished, by code" }),
  duration: Metric.histogram(
    `rpc.${side}.duration`,
    MetricBoundaries.exponential({ start: 0.5, factor: 2, count: 16 }),
    "Duration of RPCs in milliseconds"
  )
})

/** Labels from attributes (metrics take strings). @internal */
export const labelsOf = (attributes: Record<string, unknown>): ReadonlyArray<MetricLabel.MetricLabel> =>
  Object.entries(attributes).map(([key, value]) => MetricLabel.make(key, String(value)))
