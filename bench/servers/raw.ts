// The ceiling: a bare node:http handler that drains the request and writes precomputed bytes.
// Say answers with the fixed response for `saySentence` (binary or JSON by content-type), with a
// content-length as both real servers send, unless the request asks for a chunked body;
// Introduce answers with the fixed stream for the request body, built on first sight and cached;
// Pontificate reads its body and answers empty.
import { createServer } from "node:http"
import { fromBinary } from "@bufbuild/protobuf"
import { IntroduceRequestSchema } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { chunkedHeader, introducePath, introduceResponseBody, pontificatePath, requestBodies, sayPath } from "../workload.js"

export const serve = (port: number): Promise<void> => {
  // SayResponse and SayRequest have the same wire shape, so the response bytes equal the request bytes.
  const { sayBinary, sayJson } = requestBodies("0x0")
  const streams = new Map<string, Uint8Array>()
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      if (req.url === sayPath) {
        const json = req.headers["content-type"] === "application/json"
        const body = json ? sayJson : sayBinary
        res.writeHead(200, {
          "content-type": json ? "application/json" : "application/proto",
          ...(req.headers[chunkedHeader] === undefined ? { "content-length": body.byteLength } : {})
        })
        res.end(body)
      } else if (req.url === introducePath) {
        const key = Buffer.concat(chunks).toString("latin1")
        let body = streams.get(key)
        if (body === undefined) {
          body = introduceResponseBody(fromBinary(IntroduceRequestSchema, Buffer.from(key, "latin1").subarray(5)).name)
          streams.set(key, body)
        }
        res.writeHead(200, { "content-type": "application/connect+proto" })
        res.end(body)
      } else if (req.url === pontificatePath) {
        // Only the bytes are counted: the ceiling for reading a large request.
        res.writeHead(200, { "content-type": "application/proto" })
        res.end()
      } else {
        res.writeHead(404).end()
      }
    })
  })
  return new Promise((resolve) => server.listen(port, "127.0.0.1", resolve))
}
