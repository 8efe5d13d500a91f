/**
 * HTTP/1.1 as bytes, for inputs that no HTTP client would send: requests built from their parts
 * (any method, target, version, header lines and body framing), and a lenient reader of what
 * a server sent back, which splits it into responses and says where it stopped making sense.
 */
import { Buffer } from "node:buffer"

/** A request as its parts; `framing` says how the body is delimited on the wire. */
export interface WireRequest {
  readonly method: string
  readonly target: string
  readonly version: string
  /** Header lines in order, duplicates allowed; names and values are written as they are. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array
  /**
   * `length`: a Content-Length of `lengthDelta` more than the body (0: the truth);
   * `chunked`: chunks of `chunkSize` bytes; `none`: no framing header at all.
   */
  readonly framing:
    | { readonly kind: "length"; readonly lengthDelta: number }
    | { readonly kind: "chunked"; readonly chunkSize: number }
    | { readonly kind: "none" }
}

const latin1 = (text: string) => Buffer.from(text, "latin1")

/** The request's bytes: request line, header lines, framing header, blank line, body. */
export const serializeRequest = (request: WireRequest): Buffer => {
  const lines = [`${request.method} ${request.target} ${request.version}`, ...request.headers.map(([n, v]) => `${n}: ${v}`)]
  const { framing, body } = request
  if (framing.kind === "length") lines.push(`Content-Length: ${Math.max(0, body.byteLength + framing.lengthDelta)}`)
  if (framing.kind === "chunked") lines.push("Transfer-Encoding: chunked")
  const head = latin1(`${lines.join("\r\n")}\r\n\r\n`)
  if (framing.kind !== "chunked") return Buffer.concat([head, body])
  const parts: Array<Buffer> = [head]
  const size = Math.max(1, framing.chunkSize)
  for (let at = 0; at < body.byteLength; at += size) {
    const chunk = body.subarray(at, at + size)
    parts.push(latin1(`${chunk.byteLength.toString(16)}\r\n`), Buffer.from(chunk), latin1("\r\n"))
  }
  parts.push(latin1("0\r\n\r\n"))
  return Buffer.concat(parts)
}

/** One response as read off the wire; names lower-cased, repeated fields joined with ", ". */
export interface WireResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
}

/** The responses in `bytes`, and, if they stop making sense before the end, why and where. */
export interface ParsedResponses {
  readonly responses: ReadonlyArray<WireResponse>
  readonly error: string | undefined
}

const headEnd = (bytes: Buffer, from: number) => bytes.indexOf("\r\n\r\n", from, "latin1")

/**
 * Reads the responses in `bytes` (everything a server sent until it closed), skipping 1xx
 * interim responses. A body without a length runs to the end, as a closed connection ends it;
 * responses to HEAD (`head`) have none, whatever their headers say.
 */
export const parseResponses = (bytes: Buffer, head = false): ParsedResponses => {
  const responses: Array<WireResponse> = []
  let at = 0
  while (at < bytes.byteLength) {
    const end = headEnd(bytes, at)
    if (end === -1) return { responses, error: `an unfinished head at byte ${at}` }
    const [statusLine, ...lines] = bytes.subarray(at, end).toString("latin1").split("\r\n")
    const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine!)
    if (match === null) return { responses, error: `not a status line at byte ${at}: ${JSON.stringify(statusLine!.slice(0, 60))}` }
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(":")
      if (colon <= 0) return { responses, error: `a malformed header line: ${JSON.stringify(line.slice(0, 60))}` }
      const name = line.slice(0, colon).toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const status = Number(match[1])
    at = end + 4
    if (status < 200) continue
    const body = head ? { body: Buffer.alloc(0), next: at } : readBody(bytes, at, status, headers)
    if (typeof body === "string") return { responses, error: body }
    responses.push({ status, headers, body: body.body })
    at = body.next
  }
  return { responses, error: undefined }
}

const readBody = (
  bytes: Buffer,
  at: number,
  status: number,
  headers: Record<string, string>
): { readonly body: Buffer; readonly next: number } | string => {
  if (status === 204 || status === 304) return { body: Buffer.alloc(0), next: at }
  if (headers["transfer-encoding"] !== undefined) {
    if (headers["transfer-encoding"].toLowerCase() !== "chunked") return `transfer-encoding ${headers["transfer-encoding"]}`
    return dechunk(bytes, at)
  }
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"])
    if (!/^\d+$/.test(headers["content-length"])) return `content-length ${headers["content-length"]}`
    if (at + length > bytes.byteLength) return `a body of ${bytes.byteLength - at} bytes, ${length} declared`
    return { body: bytes.subarray(at, at + length), next: at + length }
  }
  return { body: bytes.subarray(at), next: bytes.byteLength }
}

/** A chunked body from `at`: its bytes, and where the message ends (after any trailer lines). */
const dechunk = (bytes: Buffer, at: number): { readonly body: Buffer; readonly next: number } | string => {
  const parts: Array<Buffer> = []
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", at, "latin1")
    if (lineEnd === -1) return `a chunked body cut off at byte ${at}`
    const size = parseInt(bytes.subarray(at, lineEnd).toString("latin1"), 16)
    if (!Number.isFinite(size)) return `a bad chunk size at byte ${at}`
    if (size === 0) {
      // Trailer lines, then the blank line.
      let next = lineEnd + 2
      for (;;) {
        const end = bytes.indexOf("\r\n", next, "latin1")
        if (end === -1) return "chunked trailers cut off"
        if (end === next) return { body: Buffer.concat(parts), next: end + 2 }
        next = end + 2
      }
    }
    if (lineEnd + 2 + size + 2 > bytes.byteLength) return `a chunk cut off at byte ${at}`
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}
