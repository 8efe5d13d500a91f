// The reference: the same service on @connectrpc/connect-node's adapter, on node:http (`serve`) or
// on node:http2 without TLS (`serveH2c`: HTTP/2 with prior knowledge), as connect-node documents it.
import { createServer } from "node:http"
import { createServer as createH2cServer } from "node:http2"
import { connectNodeAdapter } from "@connectrpc/connect-node"
import { ElizaService } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { parseIntroduce } from "../workload.js"

const handler = () =>
  connectNodeAdapter({
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

export const serve = (port: number): Promise<void> => {
  const server = createServer(handler())
  return new Promise((resolve) => server.listen(port, "127.0.0.1", resolve))
}

export const serveH2c = (port: number): Promise<void> => {
  const server = createH2cServer(handler())
  return new Promise((resolve) => server.listen(port, "127.0.0.1", resolve))
}
