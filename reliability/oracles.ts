/**
 * What a correct answer of each protocol looks like, judged from the outside: a fuzzer cannot
 * know the right answer to a hostile input, but it can know the shape every answer must have.
 * Each judge returns the outcome to tally (the status, or the status and the code) and, when
 * the answer breaks its protocol's rules, what is wrong.
 */
import { Code } from "connect-effect"
import { EnvelopeReader } from "../src/internal/envelope.js"
import { parseStreamBody } from "../test/support/rawHttp.js"

/** A response, whatever carried it; HTTP/2 gives trailers apart, HTTP/1.1 in the chunked body's end. */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
  readonly trailers?: Readonly<Record<string, string>>
}

export interface Judgement {
  readonly outcome: string
  readonly problem?: string
}

const dec = new TextDecoder()

const jsonCode = (body: Uint8Array): string | undefined => {
  try {
    const code = (JSON.parse(dec.decode(body)) as { code?: unknown }).code
    return typeof code === "string" ? code : undefined
  } catch {
    return undefined
  }
}

/**
 * What every protocol answers before it knows it is the one (the router's own answers): 415
 * with Accept-Post for a content type no protocol takes, 405 with Allow for a method the route
 * does not take; and node:http's. Undefined when the answer is not one of them.
 */
const routerAnswer = (answer: Answer): Judgement | undefined => {
  if (answer.status === 415) {
    return answer.headers["accept-post"] === undefined ? { outcome: "415", problem: "415 without Accept-Post" } : { outcome: "415" }
  }
  if (answer.status === 405) {
    return answer.headers["allow"] === undefined ? { outcome: "405", problem: "405 without Allow" } : { outcome: "405" }
  }
  // node:http2 does not enforce the header list size it announces; the server refuses a larger list itself.
  if (answer.status === 431 && jsonCode(answer.body) === "resource_exhausted") return { outcome: "431 resource_exhausted" }
  return nodeAnswer(answer)
}

/**
 * node:http's own answers, sent before any of our code runs, to requests its parser refuses
 * (a URL or header block past its 16 KiB, say): a status and no body type.
 */
const nodeAnswer = (answer: Answer): Judgement | undefined =>
  [400, 413, 414, 431].includes(answer.status) && answer.headers["content-type"] === undefined
    ? { outcome: `${answer.status} (node)` }
    : undefined

/** A Connect error: JSON, with a known code whose HTTP status is the response's. */
const connectError = (answer: Answer): Judgement => {
  const code = jsonCode(answer.body)
  const outcome = `${answer.status} ${code ?? "?"}`
  if (!(answer.headers["content-type"] ?? "").startsWith("application/json")) {
    return { outcome, problem: `error with content type ${answer.headers["content-type"]}` }
  }
  if (code === undefined || !Code.isCode(code)) return { outcome, problem: `error body without a known code: ${dec.decode(answer.body.subarray(0, 80))}` }
  // A route no service has is 404, as connect-go and connect-es answer it; any other unimplemented is 501.
  const status = code === "unimplemented" && answer.status === 404 ? 404 : Code.toHttpStatus(code)
  if (status !== answer.status) return { outcome, problem: `${code} with HTTP status ${answer.status}` }
  return { outcome }
}

/** A Connect unary answer: the message in the request's codec, or a Connect error. */
export const judgeConnectUnary = (answer: Answer): Judgement => {
  const routed = routerAnswer(answer)
  if (routed !== undefined) return routed
  if (answer.status !== 200) return connectError(answer)
  const type = answer.headers["content-type"] ?? ""
  return /^application\/(proto|json)\b/.test(type) ? { outcome: "200" } : { outcome: "200", problem: `200 with content type ${type}` }
}

/** A Connect streaming answer: envelopes ending with one end-stream message, or a Connect error. */
export const judgeConnectStream = (answer: Answer): Judgement => {
  const routed = routerAnswer(answer)
  if (routed !== undefined) return routed
  if (answer.status !== 200) return connectError(answer)
  const type = answer.headers["content-type"] ?? ""
  if (!type.startsWith("application/connect+")) return { outcome: "200", problem: `200 with content type ${type}` }
  try {
    const end = parseStreamBody(answer.body).end as { error?: { code?: unknown } }
    const code = end.error?.code
    if (code !== undefined && !Code.isCode(code)) return { outcome: "200 ?", problem: `end-stream error code ${String(code)}` }
    return { outcome: `200 ${typeof code === "string" ? code : "ok"}` }
  } catch (e) {
    return { outcome: "200 broken", problem: `stream body: ${(e as Error).message}` }
  }
}

const grpcStatusOf = (value: string | undefined): Judgement | undefined => {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) > 16) return { outcome: `grpc ${value}`, problem: `grpc-status ${value}` }
  return { outcome: `grpc ${value === "0" ? "ok" : Code.fromNumber(Number(value))}` }
}

/** The grpc-status of a gRPC-Web body's trailer frame (flag 0x80), or why there is none. */
const grpcWebTrailerStatus = (body: Uint8Array): string | Error => {
  const reader = new EnvelopeReader(0xffffffff)
  try {
    const envelopes = reader.push(body)
    reader.finish()
    const last = envelopes[envelopes.length - 1]
    if (last === undefined || (last.flags & 0x80) === 0) return new Error("no trailer frame")
    if (envelopes.slice(0, -1).some((e) => (e.flags & 0x80) !== 0)) return new Error("a trailer frame before the end")
    const status = /^grpc-status:\s*(\S*)\s*$/im.exec(dec.decode(last.data))
    return status === null ? new Error("a trailer frame without grpc-status") : status[1]!
  } catch (e) {
    return e as Error
  }
}

/**
 * A gRPC answer (HTTP/2, trailers apart): 200 with grpc-status in the trailers or, with no
 * body, in the headers (trailers-only); or one of the router's answers.
 */
export const judgeGrpc = (answer: Answer): Judgement => {
  const routed = routerAnswer(answer)
  if (routed !== undefined) return routed
  if (answer.status !== 200) return { outcome: String(answer.status), problem: `gRPC answered with HTTP ${answer.status}` }
  const status = grpcStatusOf(answer.trailers?.["grpc-status"] ?? answer.headers["grpc-status"])
  return status ?? { outcome: "200 ?", problem: "no grpc-status" }
}

/** A gRPC-Web answer: 200 with grpc-status in the headers (trailers-only) or in a trailer frame. */
export const judgeGrpcWeb = (answer: Answer): Judgement => {
  const routed = routerAnswer(answer)
  if (routed !== undefined) return routed
  if (answer.status !== 200) return { outcome: String(answer.status), problem: `gRPC-Web answered with HTTP ${answer.status}` }
  const inHeaders = grpcStatusOf(answer.headers["grpc-status"])
  if (inHeaders !== undefined) return inHeaders
  const status = grpcWebTrailerStatus(answer.body)
  return typeof status === "string" ? grpcStatusOf(status)! : { outcome: "200 broken", problem: `gRPC-Web body: ${status.message}` }
}

/**
 * The judge for a request of content type `type`: the rules of the protocol that type selects
 * (the specifications' types, any case, JSON with an optional UTF-8 charset), Connect's
 * otherwise, since Connect answers what no protocol takes.
 */
export const judgeFor = (type: string | undefined, streaming: boolean): (answer: Answer) => Judgement => {
  const t = (type ?? "").trim()
  if (/^application\/grpc-web(\+(proto|json(;\s*charset=utf-?8)?))?$/i.test(t)) return judgeGrpcWeb
  if (/^application\/grpc(\+(proto|json(;\s*charset=utf-?8)?))?$/i.test(t)) return judgeGrpc
  if (/^application\/connect\+/i.test(t)) return judgeConnectStream
  return streaming ? judgeConnectStream : judgeConnectUnary
}
