// The reference: the same service on @connectrpc/connect-node's node:http adapter.
import { createServer } from "node:http"
import { connectNodeAdapter } from "@connectrpc/connect-node"
import { ElizaService } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { parseIntroduce } from "../workload.js"

export const serve = (port: number): Promise<void> => {
  const handler = connectNodeAdapter({
    routes: (router) =>
      router.service(ElizaService, {
        say: (req) => ({ sentence: req.sentence }),
        async *introduce(req) {
          const { count, sentence } = parseIntroduce(req.name)
          for (let i = 0; i < count; i++) yield { sentence }
        },
        async *converse(reqs) {
          for await (const req of reqs) yield { sentence: req.sentence }
        },
        async pontificate(reqs) {
          let n = 0
          for await (const _ of reqs) n++
          return { sentence: `${n} thoughts` }
        }
      })
  })
  const server = createServer(handler)
  return new Promise((resolve) => server.listen(port, "127.0.0.1", resolve))
}
