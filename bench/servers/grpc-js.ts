// The gRPC reference: the same service on @grpc/grpc-js's server, with its defaults. grpc-js
// serves gRPC over h2c only (no HTTP/1.1, no Connect, no gRPC-Web), so `serve` is its h2c server
// too. The service definition is built from the descriptor with protobuf-es serializers
// (test/support/grpcJsDefinition.ts): there is no generated grpc-js code in this repository.
import * as Grpc from "@grpc/grpc-js"
import {
  type ConverseRequest,
  ElizaService,
  type IntroduceRequest,
  type SayRequest
} from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { grpcJsDefinition } from "../../test/support/grpcJsDefinition.js"
import { parseIntroduce } from "../workload.js"

export const serve = (port: number): Promise<void> => {
  const server = new Grpc.Server()
  server.addService(grpcJsDefinition(ElizaService), {
    say: (call: Grpc.ServerUnaryCall<SayRequest, unknown>, callback: Grpc.sendUnaryData<unknown>) =>
      callback(null, { sentence: call.request.sentence }),
    introduce: (call: Grpc.ServerWritableStream<IntroduceRequest, unknown>) => {
      const { count, sentence } = parseIntroduce(call.request.name)
      for (let i = 0; i < count; i++) call.write({ sentence })
      call.end()
    },
    converse: (call: Grpc.ServerDuplexStream<ConverseRequest, unknown>) => {
      call.on("data", (req: ConverseRequest) => call.write({ sentence: req.sentence }))
      call.on("end", () => call.end())
    },
    pontificate: (call: Grpc.ServerReadableStream<unknown, unknown>, callback: Grpc.sendUnaryData<unknown>) => {
      let n = 0
      call.on("data", () => n++)
      call.on("end", () => callback(null, { sentence: `${n} thoughts` }))
    }
  })
  return new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, Grpc.ServerCredentials.createInsecure(), (error) => error === null ? resolve() : reject(error))
  )
}

export const serveH2c = serve
