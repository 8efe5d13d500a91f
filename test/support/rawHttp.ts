/**
 * Raw HTTP/1.1 for hostile-input tests: requests whose bodies are written chunk by chunk
 * (and possibly never finished), and small helpers to read Connect responses without the
 * library under test.
 */
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import { EnvelopeReader } from "../../src/internal/envelope.js"

export interface RawResponse {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Uint8Array
}

export interface RawRequest {
  readonly method?: string
  readonly path: string
  readonly headers?: Record<string, string>
  /** One buffer is sent with a Content-Length; a list is sent chunked, one write per element. */
  readonly body?: Uint8Array | string | ReadonlyArray<Uint8Array>
  /** Leave the request body unfinished (default false): the response must come anyway. */
  readonly leaveOpen?: boolean
}

const enc = new TextEncoder()

/**
 * Sends a request and reads the whole response; interrupting (a timeout, say) destroys the
 * request, and so does the end of the response when the body was left open.
 */
export const rawRequest = (baseUrl: string, request: RawRequest): Effect.Effect<RawResponse, Error> =>
  Effect.async<RawResponse, Error>((resume) => {
    const req = Http.request(`${baseUrl}${request.path}`, {
      method: request.method ?? "POST",
      headers: request.headers ?? {},
      agent: false
    })
    let done = false
    const finish = (effect: Effect.Effect<RawResponse, Error>) => {
      if (done) return
      done = true
      resume(effect)
    }
    req.on("error", (e) => finish(Effect.fail(e)))
    req.on("response", (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("error", (e) => finish(Effect.fail(e)))
      res.on("end", () => {
        finish(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: new Uint8Array(Buffer.concat(chunks)) }))
        if (request.leaveOpen) req.destroy()
      })
    })
    const body = request.body
    if (body === undefined || typeof body === "string" || body instanceof Uint8Array) {
      const bytes = typeof body === "string" ? enc.encode(body) : body
      if (request.leaveOpen) {
        if (bytes !== undefined) req.write(bytes)
        req.flushHeaders()
      } else {
        req.end(bytes)
      }
    } else {
      for (const chunk of body) req.write(chunk)
      if (request.leaveOpen) req.flushHeaders()
      else req.end()
    }
    return Effect.sync(() => req.destroy())
  })

/** The body as JSON (the Connect error of a unary response). */
export const jsonOf = (body: Uint8Array): any => JSON.parse(new TextDecoder().decode(body))

export interface ParsedStream {
  readonly messages: ReadonlyArray<Uint8Array>
  /** The EndStreamResponse, parsed. */
  readonly end: any
}

/** Splits a Connect streaming response body into its messages and end-of-stream JSON. */
export const parseStreamBody = (body: Uint8Array): ParsedStream => {
  const reader = new EnvelopeReader(0xffffffff)
  const envelopes = reader.push(body)
  reader.finish()
  const last = envelopes[envelopes.length - 1]
  if (last === undefined || (last.flags & 2) === 0) throw new Error("no end-stream message")
  if (envelopes.slice(0, -1).some((e) => (e.flags & 2) !== 0)) throw new Error("end-stream message before the end")
  return { messages: envelopes.slice(0, -1).map((e) => e.data), end: jsonOf(last.data) }
}

/** One envelope: flags, a big-endian length (the actual length unless given), the payload. */
export const envelope = (flags: number, data: Uint8Array, length = data.byteLength): Uint8Array => {
  const bytes = new Uint8Array(data.byteLength + 5)
  bytes[0] = flags
  new DataView(bytes.buffer).setUint32(1, length)
  bytes.set(data, 5)
  return bytes
}
