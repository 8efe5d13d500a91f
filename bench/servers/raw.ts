// The ceiling: a bare handler that drains the request and writes precomputed bytes, on node:http
// (`serve`) or on node:http2 without TLS (`serveH2c`, on the core stream API, cheaper than the
// compatibility API). Say answers with the fixed response for `saySentence` (binary or JSON by
// content-type), with a content-length as both real servers send, unless the request asks for a
// chunked body (HTTP/1.1 only); Introduce answers with the fixed stream for the request body,
// built on first sight and cached; Pontificate reads its body and answers empty. Over h2c it also
// answers gRPC (Say and Introduce, binary): the same messages, framed, and `grpc-status: 0` in the
// trailers.
import { createServer } from "node:http"
import { constants, createServer as createH2cServer } from "node:http2"
import { fromBinary } from "@bufbuild/protobuf"
import { IntroduceRequestSchema } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { chunkedHeader, introducePath, introduceResponseBody, pontificatePath, requestBodies, sayPath } from "../workload.js"

/** Introduce's whole response for a request body (Connect or gRPC), built on first sight and cached. */
const introduceStreams = () => {
  const streams = new Map<string, Uint8Array>()
  return (chunks: ReadonlyArray<Buffer>, grpc = false): Uint8Array => {
    const request = Buffer.concat(chunks).toString("latin1")
    const key = `${grpc}${request}`
    let body = streams.get(key)
    if (body === undefined) {
      body = introduceResponseBody(fromBinary(IntroduceRequestSchema, Buffer.from(request, "latin1").subarray(5)).name, grpc)
      streams.set(key, body)
    }
    return body
  }
}

export const serve = (port: number): Promise<void> => {
  // SayResponse and SayRequest have the same wire shape, so the response bytes equal the request bytes.
  const { sayBinary, sayJson } = requestBodies("0x0")
  const introduce = introduceStreams()
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
        res.writeHead(200, { "content-type": "application/connect+proto" })
        res.end(introduce(chunks))
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

/** The same answers over HTTP/2 with prior knowledge (h2c), for h2load without `--h1`, in Connect or gRPC. */
export const serveH2c = (port: number): Promise<void> => {
  const { sayBinary, sayGrpc, sayJson } = requestBodies("0x0")
  const introduce = introduceStreams()
  const server = createH2cServer()
  server.on("stream", (stream, headers) => {
    // h2load resets the streams still in flight when a timed run ends.
    stream.on("error", () => {})
    const chunks: Array<Buffer> = []
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.on("end", () => {
      if (stream.destroyed) return
      const path = headers[constants.HTTP2_HEADER_PATH]
      // application/grpc, or application/grpc+proto as some clients (connect-node's) send it.
      if (String(headers[constants.HTTP2_HEADER_CONTENT_TYPE]).startsWith("application/grpc")) {
        const body = path === sayPath ? sayGrpc : path === introducePath ? introduce(chunks, true) : undefined
        if (body === undefined) return stream.respond({ ":status": 404 }, { endStream: true })
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true })
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }))
        stream.end(body)
      } else if (path === sayPath) {
        const json = headers[constants.HTTP2_HEADER_CONTENT_TYPE] === "application/json"
        const body = json ? sayJson : sayBinary
        stream.respond({ ":status": 200, "content-type": json ? "application/json" : "application/proto", "content-length": body.byteLength })
        stream.end(body)
      } else if (path === introducePath) {
        stream.respond({ ":status": 200, "content-type": "application/connect+proto" })
        stream.end(introduce(chunks))
      } else if (path === pontificatePath) {
        stream.respond({ ":status": 200, "content-type": "application/proto" }, { endStream: true })
      } else {
        stream.respond({ ":status": 404 }, { endStream: true })
      }
    })
  })
  return new Promise((resolve) => server.listen(port, "127.0.0.1", resolve))
}
