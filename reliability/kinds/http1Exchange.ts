/**
 * Sends bytes meant as one HTTP/1.1 request and judges the answer: the server must answer (or
 * close) within the bounds, with bytes that are HTTP; with `single`, one response at most (two
 * would mean it read our one request as two: request smuggling); the first following `judge`.
 */
import * as Effect from "effect/Effect"
import { Buffer } from "node:buffer"
import { parseResponses } from "../http1Wire.js"
import { hang } from "../kind.js"
import type { Answer, Judgement } from "../oracles.js"
import { type Bounds, rawExchange } from "../rawExchange.js"

export const bounds: Bounds = { answerMs: 3000, closeMs: 3000 }

/**
 * `complete`: the bytes are a whole request, so silence until our FIN is a problem too (the
 * server lost a request it had whole); an incomplete one may wait for the rest.
 */
export const exchangeOne = (
  port: number,
  bytes: Uint8Array,
  options: { readonly complete: boolean; readonly single: boolean; readonly judge: ((answer: Answer) => Judgement) | undefined }
): Effect.Effect<Judgement> =>
  Effect.map(rawExchange(port, [bytes], bounds), (answer): Judgement => {
    if (answer.closed === "never") return hang(`the connection was still open ${bounds.answerMs + bounds.closeMs} ms after the request`)
    const { error, responses } = parseResponses(answer.bytes, Buffer.from(bytes.subarray(0, 5)).toString("latin1") === "HEAD ")
    if (error !== undefined) return { outcome: "unparsable", problem: `the server's bytes are not HTTP: ${error}` }
    if (options.single && responses.length > 1) return { outcome: "smuggled", problem: `${responses.length} responses to one request` }
    const response = responses[0]
    if (response === undefined) {
      if (options.complete) return { outcome: `no answer (${answer.closed})`, problem: "a whole request got no answer" }
      return { outcome: answer.closed === "server" ? "closed" : "waited" }
    }
    return options.judge === undefined ? { outcome: String(response.status) } : options.judge(response)
  })
