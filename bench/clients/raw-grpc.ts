// The ceiling of any gRPC client on node:http2, to read the others' figures against: one session,
// each call a stream with gRPC's headers and the prepared request envelope, its answer's bytes
// gathered and its trailers' grpc-status checked; no protobuf, no framework, no deadline.
import { connect, constants } from "node:http2"
import { grpcHeaders, requestBodies, sayPath } from "../workload.js"
import type { Phase } from "../client-load.js"
import { promiseLoops } from "./promiseLoops.js"

export const makePhase = async (url: string, headers: Record<string, string>): Promise<Phase> => {
  const session = connect(url)
  await new Promise<void>((resolve, reject) => session.once("connect", () => resolve()).once("error", reject))
  const body = requestBodies("").sayGrpc
  const requestHeaders = { [constants.HTTP2_HEADER_METHOD]: "POST", [constants.HTTP2_HEADER_PATH]: sayPath, ...grpcHeaders, ...headers }
  return promiseLoops(() =>
    new Promise((resolve, reject) => {
      const stream = session.request(requestHeaders)
      const chunks: Array<Buffer> = []
      let status: string | undefined
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("trailers", (trailers) => status = String(trailers["grpc-status"]))
      stream.on("error", reject)
      stream.on("close", () =>
        status === "0" && chunks.length > 0 ? resolve(undefined) : reject(new Error(`grpc-status ${status}, rst ${stream.rstCode}`)))
      stream.end(body)
    })
  )
}
