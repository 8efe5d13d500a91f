/**
 * HTTP/1.1 messages whose bodies are cut into chunks of a chosen size, built once as the exact
 * bytes on the wire, so that a test spends its time in the reader under test and not in a
 * client writing millions of chunks.
 */
import { Buffer } from "node:buffer"
import * as Net from "node:net"

/** `head` (a request or status line and headers, without the blank line) and `body` in `chunkSize`-byte chunks. */
export const chunkedMessage = (head: string, body: Uint8Array, chunkSize: number): Buffer => {
  const start = Buffer.from(`${head}\r\nTransfer-Encoding: chunked\r\n\r\n`, "latin1")
  const full = Math.floor(body.byteLength / chunkSize)
  const rest = body.byteLength % chunkSize
  const frame = (size: number) => size.toString(16).length + 4 + size
  const out = Buffer.allocUnsafe(start.byteLength + full * frame(chunkSize) + (rest > 0 ? frame(rest) : 0) + 5)
  out.set(start)
  let offset = start.byteLength
  for (let at = 0; at < body.byteLength; at += chunkSize) {
    const size = Math.min(chunkSize, body.byteLength - at)
    offset += out.write(`${size.toString(16)}\r\n`, offset, "latin1")
    out.set(body.subarray(at, at + size), offset)
    offset += size
    offset += out.write("\r\n", offset, "latin1")
  }
  out.write("0\r\n\r\n", offset, "latin1")
  return out
}

/** A response read off a socket the server closes (or that sent a whole Content-Length body). */
export interface WireResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: Buffer
}

const dechunk = (body: Buffer): Buffer => {
  const parts: Array<Buffer> = []
  let at = 0
  for (;;) {
    const lineEnd = body.indexOf("\r\n", at)
    const size = parseInt(body.subarray(at, lineEnd).toString("latin1"), 16)
    if (lineEnd === -1 || !Number.isFinite(size) || lineEnd + 2 + size > body.byteLength) {
      throw new Error(`malformed chunked body at byte ${at} of ${body.byteLength}`)
    }
    if (size === 0) return Buffer.concat(parts)
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}

/** One response as it came off the wire: status, headers, and the body (de-chunked; a cut-off chunked body throws). */
export const parseResponse = (raw: Buffer): WireResponse => {
  const headEnd = raw.indexOf("\r\n\r\n")
  const [statusLine, ...lines] = raw.subarray(0, headEnd).toString("latin1").split("\r\n")
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(":")
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  const body = raw.subarray(headEnd + 4)
  return {
    status: Number(statusLine!.split(" ")[1]),
    headers,
    body: headers["transfer-encoding"] === "chunked" ? dechunk(body) : body
  }
}

/** Writes `request` (which must ask for `Connection: close`) to `port` and reads the response to the end. */
export const sendWire = (port: number, request: Buffer): Promise<WireResponse> =>
  new Promise((resolve, reject) => {
    const socket = Net.connect(port, "127.0.0.1")
    const received: Array<Buffer> = []
    socket.on("data", (chunk) => received.push(chunk))
    socket.on("error", reject)
    socket.on("end", () => {
      try {
        resolve(parseResponse(Buffer.concat(received)))
      } catch (e) {
        reject(e)
      }
    })
    // Not end(): a node:http server ends its side too when the client half-closes, cutting a long response short.
    socket.write(request)
  })
