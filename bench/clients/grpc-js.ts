// The gRPC reference client: @grpc/grpc-js's generic client of the service definition built from
// the descriptor (test/support/grpcJsDefinition.ts), one channel with its defaults, h2c.
import * as Grpc from "@grpc/grpc-js"
import { ElizaService } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { grpcJsDefinition } from "../../test/support/grpcJsDefinition.js"
import { saySentence } from "../workload.js"
import type { Phase } from "../client-load.js"
import { promiseLoops } from "./promiseLoops.js"

type SayClient = Grpc.Client & {
  say: (request: unknown, metadata: Grpc.Metadata, callback: (error: Grpc.ServiceError | null) => void) => void
}

export const makePhase = async (url: string, headers: Record<string, string>): Promise<Phase> => {
  const Client = Grpc.makeGenericClientConstructor(grpcJsDefinition(ElizaService) as Grpc.ServiceDefinition<any>, "ElizaService")
  const client = new Client(new URL(url).host, Grpc.credentials.createInsecure()) as unknown as SayClient
  const metadata = new Grpc.Metadata()
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value)
  return promiseLoops(() =>
    new Promise((resolve, reject) =>
      client.say({ sentence: saySentence }, metadata, (error) => error === null ? resolve(undefined) : reject(error))
    )
  )
}
