/**
 * Connect, gRPC and gRPC-Web requests over HTTP/2 (node:http2's client, a connection per
 * input), with hostile content, header lists past the server's limit, and streams that the
 * client resets midway or leaves open. A stream the client ends must be answered in its
 * protocol's shape within 5 s; the others must not hold the server (the campaign's checks of
 * calls in flight and sessions after each batch see that).
 */
import * as Effect from "effect/Effect"
import fc from "fast-check"
import * as Http2 from "node:http2"
import { hang, type Kind } from "../kind.js"
import { judgeFor, type Judgement } from "../oracles.js"
import { isStreamingRoute, type RpcRequest, rpcOverHttp2, showRpc } from "../rpcRequests.js"

interface Input {
  readonly request: RpcRequest
  /** `end`: the whole body, then END_STREAM; `reset`: part of it, then RST_STREAM; `open`: the body, never ended. */
  readonly ending: "end" | "reset" | "open"
  /** Extra 1 KiB header fields, to pass the header list limit (16 KiB by default). */
  readonly padding: number
}

/** How long a whole request may wait for its answer; a stream left open is given up on sooner. */
const boundMs = 5000
const openMs = 1000

const flat = (headers: Http2.IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])))

const send = (url: string, input: Input): Effect.Effect<Judgement> =>
  Effect.async<Judgement>((resume) => {
    const session = Http2.connect(url)
    session.on("error", () => {})
    let done = false
    const finish = (judgement: Judgement) => {
      if (done) return
      done = true
      clearTimeout(timer)
      session.destroy()
      resume(Effect.succeed(judgement))
    }
    const timer = setTimeout(
      () => finish(input.ending === "end" ? hang(`no answer within ${boundMs} ms`) : { outcome: "left open" }),
      input.ending === "end" ? boundMs : openMs
    )
    const { request } = input
    const headers: Http2.OutgoingHttpHeaders = { ":method": request.method, ":path": request.path }
    // node:http2's client refuses a `te` other than "trailers" (HTTP/2 allows no other); h2-frames sends anything.
    for (const [name, value] of request.headers) if (name !== "te" || value === "trailers") headers[name] = value
    for (let i = 0; i < input.padding; i++) headers[`x-pad-${i}`] = "p".repeat(1024)
    let stream: Http2.ClientHttp2Stream
    try {
      stream = session.request(headers, { endStream: false })
    } catch (e) {
      // node:http2's client refuses some fields itself (a `te` other than trailers, say): not sent.
      return finish({ outcome: `not sent (${(e as { code?: string }).code ?? "error"})` })
    }
    let status = 0
    let responseHeaders: Record<string, string> = {}
    let trailers: Record<string, string> | undefined
    const chunks: Array<Buffer> = []
    stream.on("response", (h) => {
      status = Number(h[":status"])
      responseHeaders = flat(h)
    })
    stream.on("trailers", (t) => trailers = flat(t))
    stream.on("data", (c: Buffer) => chunks.push(c))
    stream.on("error", () => {})
    stream.on("close", () => {
      if (input.ending !== "end") return finish({ outcome: input.ending === "reset" ? "reset" : `open, closed by the server (${stream.rstCode})` })
      if (status === 0) return finish({ outcome: `rst ${stream.rstCode}`, problem: `a whole request reset (code ${stream.rstCode}) with no answer` })
      const type = request.headers.find(([name]) => name === "content-type")?.[1]
      const judge = judgeFor(type, isStreamingRoute(request))
      finish(judge({ status, headers: responseHeaders, body: Buffer.concat(chunks), ...(trailers === undefined ? {} : { trailers }) }))
    })
    if (input.ending === "reset") {
      stream.write(request.body.subarray(0, request.body.byteLength >> 1), () => stream.close(Http2.constants.NGHTTP2_CANCEL))
    } else if (input.ending === "open") {
      stream.write(request.body)
    } else {
      stream.end(request.body)
    }
    return Effect.sync(() => {
      done = true
      clearTimeout(timer)
      session.destroy()
    })
  })

export const rpcHttp2: Kind<Input, string> = {
  name: "rpc-h2",
  share: 15,
  about: "Connect, gRPC and gRPC-Web requests over HTTP/2: hostile content, oversized header lists, streams reset midway or left open",
  inputs: fc.record({
    request: rpcOverHttp2,
    ending: fc.oneof({ weight: 8, arbitrary: fc.constant("end" as const) }, { weight: 1, arbitrary: fc.constantFrom("reset" as const, "open" as const) }),
    padding: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 24 }) })
  }),
  environment: (target) => Effect.succeed(target.url),
  run: send,
  show: ({ ending, padding, request }) => `${showRpc(request)} ${ending}${padding > 0 ? ` + ${padding} KiB of headers` : ""}`
}
