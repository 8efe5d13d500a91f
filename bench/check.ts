// Before any load: each server must answer the benchmark requests with the expected bytes,
// so that a fast wrong answer can never count. Over HTTP/1.1 (fetch) or over h2c (a node:http2
// session with prior knowledge, as h2load without --h1 connects), in Connect; or in gRPC over h2c,
// where a call succeeded only if its trailers say `grpc-status: 0`.
import { fromBinary, fromJsonString } from "@bufbuild/protobuf"
import { connect, constants, type IncomingHttpHeaders } from "node:http2"
import { IntroduceResponseSchema, SayResponseSchema } from "../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { connectHeaders, grpcHeaders, introducePath, parseIntroduce, requestBodies, sayPath, saySentence } from "./workload.js"

export type Protocol = "http/1.1" | "h2c" | "grpc"

interface Answer {
  readonly bytes: Uint8Array
  readonly headers: IncomingHttpHeaders
  /** HTTP trailers (none over HTTP/1.1 here). */
  readonly trailers: IncomingHttpHeaders
}

type Post = (path: string, headers: Record<string, string>, body: Uint8Array<ArrayBuffer>) => Promise<Answer>

const failed = (url: string, status: number, bytes: Uint8Array) =>
  new Error(`${url}: HTTP ${status} ${new TextDecoder().decode(bytes)}`)

const fetchPost = (baseUrl: string): Post => async (path, headers, body) => {
  const res = await fetch(baseUrl + path, { method: "POST", headers, body })
  const bytes = new Uint8Array(await res.arrayBuffer())
  if (res.status !== 200) throw failed(baseUrl + path, res.status, bytes)
  return { bytes, headers: Object.fromEntries(res.headers), trailers: {} }
}

/** Posts on one HTTP/2 session (prior knowledge, no upgrade); `close` ends it. */
const h2cPost = (baseUrl: string): Post & { close: () => void } => {
  const session = connect(baseUrl)
  // A server that does not speak HTTP/2 answers the preface with an HTTP/1.1 error or closes.
  let sessionError: Error | undefined
  session.on("error", (error) => sessionError = error)
  const post: Post = (path, headers, body) =>
    new Promise((resolve, reject) => {
      if (sessionError !== undefined) return reject(sessionError)
      const stream = session.request({ [constants.HTTP2_HEADER_METHOD]: "POST", [constants.HTTP2_HEADER_PATH]: path, ...headers })
      const timer = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), 10_000)
      let head: IncomingHttpHeaders = {}
      let trailers: IncomingHttpHeaders = {}
      const chunks: Array<Buffer> = []
      stream.on("response", (headers) => head = headers)
      stream.on("trailers", (headers) => trailers = headers)
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("error", (error) => {
        clearTimeout(timer)
        reject(new Error(`${baseUrl + path} over h2c: ${sessionError?.message ?? error.message}`))
      })
      stream.on("close", () => {
        clearTimeout(timer)
        const bytes = new Uint8Array(Buffer.concat(chunks))
        const status = Number(head[constants.HTTP2_HEADER_STATUS] ?? 0)
        if (status === 200) resolve({ bytes, headers: head, trailers })
        else reject(status === 0
          ? new Error(`${baseUrl + path} over h2c: no answer (${sessionError?.message ?? `stream closed, code ${stream.rstCode}`})`)
          : failed(baseUrl + path, status, bytes))
      })
      stream.end(body)
    })
  return Object.assign(post, { close: () => session.close() })
}

export const checkServer = async (baseUrl: string, introduceName: string, protocol: Protocol = "http/1.1"): Promise<void> => {
  const h2c = protocol === "http/1.1" ? undefined : h2cPost(baseUrl)
  try {
    if (protocol === "grpc") await checkGrpcAnswers(h2c!, baseUrl, introduceName)
    else await checkAnswers(h2c ?? fetchPost(baseUrl), baseUrl, introduceName)
  } finally {
    h2c?.close()
  }
}

/** The envelopes of a streaming (or gRPC) body: flags and payload. */
const envelopes = (body: Uint8Array): Array<{ readonly flags: number; readonly payload: Uint8Array }> => {
  const out = []
  for (let at = 0; at < body.length;) {
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0)
    out.push({ flags: body[at]!, payload: body.subarray(at + 5, at + 5 + length) })
    at += 5 + length
  }
  return out
}

const checkAnswers = async (post: Post, baseUrl: string, introduceName: string): Promise<void> => {
  const bodies = requestBodies(introduceName)
  const binary = fromBinary(SayResponseSchema, (await post(sayPath, connectHeaders("application/proto"), bodies.sayBinary)).bytes)
  const json = fromJsonString(
    SayResponseSchema,
    new TextDecoder().decode((await post(sayPath, connectHeaders("application/json"), bodies.sayJson)).bytes)
  )
  if (binary.sentence !== saySentence || json.sentence !== saySentence) throw new Error(`${baseUrl}: Say does not echo`)
  const stream = await post(introducePath, connectHeaders("application/connect+proto"), bodies.introduce)
  const expected = parseIntroduce(introduceName)
  let messages = 0
  let end: string | undefined
  for (const { flags, payload } of envelopes(stream.bytes)) {
    if (flags === 2) end = new TextDecoder().decode(payload)
    else if (fromBinary(IntroduceResponseSchema, payload).sentence === expected.sentence) messages++
  }
  if (messages !== expected.count || end === undefined || "error" in JSON.parse(end)) {
    throw new Error(`${baseUrl}: Introduce ${introduceName} gave ${messages} good messages, end-stream ${end}`)
  }
}

/** A gRPC call's messages (as `parse` reads them), when its status in the trailers is OK. */
const grpcMessages = <A>(answer: Answer, url: string, parse: (payload: Uint8Array) => A): Array<A> => {
  const status = answer.trailers["grpc-status"]
  if (status !== "0") {
    // A call that failed at once answers "trailers-only": its status in the headers.
    const fields = status === undefined ? answer.headers : answer.trailers
    throw new Error(`${url}: grpc-status ${fields["grpc-status"]} ${fields["grpc-message"] ?? ""}`)
  }
  return envelopes(answer.bytes).map(({ flags, payload }) => {
    if (flags !== 0) throw new Error(`${url}: a gRPC message with flags ${flags}`)
    return parse(payload)
  })
}

const checkGrpcAnswers = async (post: Post, baseUrl: string, introduceName: string): Promise<void> => {
  const bodies = requestBodies(introduceName)
  const say = grpcMessages(await post(sayPath, grpcHeaders, bodies.sayGrpc), baseUrl + sayPath, (bytes) =>
    fromBinary(SayResponseSchema, bytes).sentence)
  if (say.length !== 1 || say[0] !== saySentence) throw new Error(`${baseUrl}: gRPC Say does not echo: ${JSON.stringify(say)}`)
  const introduce = grpcMessages(await post(introducePath, grpcHeaders, bodies.introduce), baseUrl + introducePath, (bytes) =>
    fromBinary(IntroduceResponseSchema, bytes).sentence)
  const expected = parseIntroduce(introduceName)
  const good = introduce.filter((sentence) => sentence === expected.sentence).length
  if (good !== expected.count || introduce.length !== expected.count) {
    throw new Error(`${baseUrl}: gRPC Introduce ${introduceName} gave ${good} good messages of ${introduce.length}`)
  }
}
