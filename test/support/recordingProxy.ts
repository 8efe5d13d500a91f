/**
 * A transparent HTTP/1.1 proxy on loopback that records every exchange it forwards (method,
 * URL, headers and raw body bytes of both directions), so that interop tests can check what
 * actually went over the wire: GET vs POST, compression headers, compressed envelopes.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import { nodeServer } from "./servers.js"

/** One forwarded exchange; the body arrays fill in as bytes flow. */
export interface Exchange {
  readonly method: string
  /** Path and query, as the client sent them. */
  readonly url: string
  readonly requestHeaders: Http.IncomingHttpHeaders
  readonly requestBody: Array<Uint8Array>
  status: number | undefined
  responseHeaders: Http.IncomingHttpHeaders
  readonly responseBody: Array<Uint8Array>
  /** Whether the client closed the connection before the response was complete. */
  clientAborted: boolean
}

/** Concatenates recorded chunks. */
export const bytesOf = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => Buffer.concat(chunks)

/**
 * Starts a proxy to `target` (a base URL such as `http://127.0.0.1:1234`) on a free port,
 * closed with the Scope. `exchanges` lists what it forwarded, oldest first.
 */
export const recordingProxy = (target: string) =>
  Effect.gen(function*() {
    const exchanges: Array<Exchange> = []
    const { url } = yield* nodeServer((req, res) => {
      const exchange: Exchange = {
        method: req.method ?? "",
        url: req.url ?? "/",
        requestHeaders: req.headers,
        requestBody: [],
        status: undefined,
        responseHeaders: {},
        responseBody: [],
        clientAborted: false
      }
      exchanges.push(exchange)
      const upstream = Http.request(
        `${target}${exchange.url}`,
        { method: exchange.method, headers: req.headers, agent: false },
        (up) => {
          exchange.status = up.statusCode
          exchange.responseHeaders = up.headers
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.on("data", (chunk: Buffer) => exchange.responseBody.push(chunk))
          up.pipe(res)
        }
      )
      upstream.on("error", () => res.destroy())
      res.on("close", () => {
        if (!res.writableEnded) exchange.clientAborted = true
        upstream.destroy()
      })
      req.on("data", (chunk: Buffer) => exchange.requestBody.push(chunk))
      req.pipe(upstream)
    })
    return { url, exchanges }
  })

/** Splits a Connect streaming body into its envelopes (flags and payload). */
export const envelopesOf = (body: Uint8Array): Array<{ flags: number; data: Uint8Array }> => {
  const out: Array<{ flags: number; data: Uint8Array }> = []
  let offset = 0
  while (offset + 5 <= body.byteLength) {
    const flags = body[offset]!
    const length = new DataView(body.buffer, body.byteOffset + offset + 1, 4).getUint32(0)
    out.push({ flags, data: body.subarray(offset + 5, offset + 5 + length) })
    offset += 5 + length
  }
  if (offset !== body.byteLength) throw new Error(`trailing ${body.byteLength - offset} bytes after the last envelope`)
  return out
}

/** The one exchange a call made. */
export const only = (exchanges: ReadonlyArray<Exchange>): Exchange => {
  expect(exchanges).toHaveLength(1)
  return exchanges[0]!
}
