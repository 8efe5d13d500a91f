// Before any load: each server must answer the benchmark requests with the expected bytes,
// so that a fast wrong answer can never count. Over HTTP/1.1 (fetch) or over h2c (a node:http2
// session with prior knowledge, as h2load without --h1 connects).
import { fromBinary, fromJsonString } from "@bufbuild/protobuf"
import { connect, constants } from "node:http2"
import { IntroduceResponseSchema, SayResponseSchema } from "../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { introducePath, parseIntroduce, requestBodies, sayPath, saySentence } from "./workload.js"

export type Protocol = "http/1.1" | "h2c"

type Post = (path: string, contentType: string, body: Uint8Array<ArrayBuffer>) => Promise<Uint8Array>

const failed = (url: string, status: number, bytes: Uint8Array) =>
  new Error(`${url}: HTTP ${status} ${new TextDecoder().decode(bytes)}`)

const fetchPost = (baseUrl: string): Post => async (path, contentType, body) => {
  const res = await fetch(baseUrl + path, {
    method: "POST",
    headers: { "content-type": contentType, "connect-protocol-version": "1" },
    body
  })
  const bytes = new Uint8Array(await res.arrayBuffer())
  if (res.status !== 200) throw failed(baseUrl + path, res.status, bytes)
  return bytes
}

/** Posts on one HTTP/2 session (prior knowledge, no upgrade); `close` ends it. */
const h2cPost = (baseUrl: string): Post & { close: () => void } => {
  const session = connect(baseUrl)
  // A server that does not speak HTTP/2 answers the preface with an HTTP/1.1 error or closes.
  let sessionError: Error | undefined
  session.on("error", (error) => sessionError = error)
  const post = (path: string, contentType: string, body: Uint8Array<ArrayBuffer>) =>
    new Promise<Uint8Array>((resolve, reject) => {
      if (sessionError !== undefined) return reject(sessionError)
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: path,
        "content-type": contentType,
        "connect-protocol-version": "1"
      })
      const timer = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), 10_000)
      let status = 0
      const chunks: Array<Buffer> = []
      stream.on("response", (headers) => status = Number(headers[constants.HTTP2_HEADER_STATUS]))
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("error", (error) => {
        clearTimeout(timer)
        reject(new Error(`${baseUrl + path} over h2c: ${sessionError?.message ?? error.message}`))
      })
      stream.on("close", () => {
        clearTimeout(timer)
        const bytes = new Uint8Array(Buffer.concat(chunks))
        if (status === 200) resolve(bytes)
        else reject(status === 0
          ? new Error(`${baseUrl + path} over h2c: no answer (${sessionError?.message ?? `stream closed, code ${stream.rstCode}`})`)
          : failed(baseUrl + path, status, bytes))
      })
      stream.end(body)
    })
  return Object.assign(post, { close: () => session.close() })
}

export const checkServer = async (baseUrl: string, introduceName: string, protocol: Protocol = "http/1.1"): Promise<void> => {
  const h2c = protocol === "h2c" ? h2cPost(baseUrl) : undefined
  try {
    await checkAnswers(h2c ?? fetchPost(baseUrl), baseUrl, introduceName)
  } finally {
    h2c?.close()
  }
}

const checkAnswers = async (post: Post, baseUrl: string, introduceName: string): Promise<void> => {
  const bodies = requestBodies(introduceName)
  const binary = fromBinary(SayResponseSchema, await post(sayPath, "application/proto", bodies.sayBinary))
  const json = fromJsonString(
    SayResponseSchema,
    new TextDecoder().decode(await post(sayPath, "application/json", bodies.sayJson))
  )
  if (binary.sentence !== saySentence || json.sentence !== saySentence) throw new Error(`${baseUrl}: Say does not echo`)
  const stream = await post(introducePath, "application/connect+proto", bodies.introduce)
  const expected = parseIntroduce(introduceName)
  let messages = 0
  let end: string | undefined
  for (let at = 0; at < stream.length;) {
    const length = new DataView(stream.buffer, stream.byteOffset + at + 1, 4).getUint32(0)
    const payload = stream.subarray(at + 5, at + 5 + length)
    if (stream[at] === 2) end = new TextDecoder().decode(payload)
    else if (fromBinary(IntroduceResponseSchema, payload).sentence === expected.sentence) messages++
    at += 5 + length
  }
  if (messages !== expected.count || end === undefined || "error" in JSON.parse(end)) {
    throw new Error(`${baseUrl}: Introduce ${introduceName} gave ${messages} good messages, end-stream ${end}`)
  }
}
