// Before any load: each server must answer the benchmark requests with the expected bytes,
// so that a fast wrong answer can never count.
import { fromBinary, fromJsonString } from "@bufbuild/protobuf"
import { IntroduceResponseSchema, SayResponseSchema } from "../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { introducePath, parseIntroduce, requestBodies, sayPath, saySentence } from "./workload.js"

const post = async (url: string, contentType: string, body: Uint8Array<ArrayBuffer>): Promise<Uint8Array> => {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": contentType, "connect-protocol-version": "1" },
    body
  })
  const bytes = new Uint8Array(await res.arrayBuffer())
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${new TextDecoder().decode(bytes)}`)
  return bytes
}

export const checkServer = async (baseUrl: string, introduceName: string): Promise<void> => {
  const bodies = requestBodies(introduceName)
  const binary = fromBinary(SayResponseSchema, await post(baseUrl + sayPath, "application/proto", bodies.sayBinary))
  const json = fromJsonString(
    SayResponseSchema,
    new TextDecoder().decode(await post(baseUrl + sayPath, "application/json", bodies.sayJson))
  )
  if (binary.sentence !== saySentence || json.sentence !== saySentence) throw new Error(`${baseUrl}: Say does not echo`)
  const stream = await post(baseUrl + introducePath, "application/connect+proto", bodies.introduce)
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
