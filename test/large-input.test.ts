/**
 * Large and hostile bodies, however they are cut: reading a message costs time linear in its
 * size on both sides, no single body blocks the event loop for long while other calls are
 * waiting, and the memory a server holds is bounded by the calls in flight times readMaxBytes.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient } from "connect-effect"
import { ConnectServer } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { Buffer } from "node:buffer"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as zlib from "node:zlib"
import { request as undiciRequest } from "undici"
import { EchoRequestSchema, EchoResponseSchema, TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { expectBytes } from "./support/bytes.js"
import { chunkedMessage, sendWire } from "./support/chunkedWire.js"
import { envelope, parseStreamBody } from "./support/rawHttp.js"
import { nodeServer, ourServer } from "./support/servers.js"
import { clientTransports } from "./support/transports.js"

const MiB = 1024 * 1024

/** V8's full collection, exposed at run time (vitest's workers start without --expose-gc). */
const collector = (): () => void => {
  v8.setFlagsFromString("--expose-gc")
  return vm.runInNewContext("gc") as () => void
}
const chunkSizes = [1, 3, 64 * 1024] as const
const enc = new TextEncoder()

/** A payload of `size` bytes that is not all one value. */
const payload = (size: number) => new Uint8Array(size).map((_, i) => (i * 7919) & 0xff)

const bidiPath = `/${TestService.typeName}/BidiStream`
const echoPath = `/${TestService.typeName}/Echo`

const requestHead = (path: string, contentType: string, extra = "") =>
  `POST ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: ${contentType}\r\nConnect-Protocol-Version: 1${extra}`

const portOf = (url: string) => Number(new URL(url).port)

const timed = async <A>(f: () => Promise<A>): Promise<{ value: A; ms: number }> => {
  const start = performance.now()
  const value = await f()
  return { value, ms: performance.now() - start }
}

/**
 * The fastest of a few runs when a run is short (64 KiB chunks: tens of ms, where one GC pause
 * or a neighbouring test file's burst on the shared cores is most of a run), one run otherwise.
 */
const fastest = async <A>(chunkSize: number, f: () => Promise<A>): Promise<{ value: A; ms: number }> => {
  let best = await timed(f)
  for (let run = 1; run < (chunkSize >= 1024 ? 3 : 1); run++) {
    const next = await timed(f)
    if (next.ms < best.ms) best = next
  }
  return best
}

/** A node:http server that reads each body with "data" events and answers 200: the least a server can do. */
const rawReader = nodeServer((req, res) => {
  let size = 0
  req.on("data", (chunk: Buffer) => size += chunk.byteLength)
  req.on("end", () => res.end(String(size)))
})

/** Our server, with limits above the 4 MiB messages, on a free port (closed with the Scope). */
const ourLargeServer = Effect.map(
  Layer.build(ourServer({ readMaxBytes: 5 * MiB, writeMaxBytes: 5 * MiB })),
  (context) => context.unsafeMap.get(ConnectServer.ConnectServer.key) as ConnectServer.ConnectServer["Type"]
)

describe("a 4 MiB message in chunks of 1 byte, 3 bytes and 64 KiB", () => {
  it.scoped("server: each is read whole and answered, in time linear in the bytes", () =>
    Effect.gen(function*() {
      const server = yield* ourLargeServer
      const raw = yield* rawReader
      const bytes = payload(4 * MiB - 16)
      const body = envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { payload: bytes })))
      const rows: Array<{ chunk: number; oursMs: number; rawMs: number }> = []
      for (const chunk of chunkSizes) {
        const wire = chunkedMessage(requestHead(bidiPath, "application/connect+proto"), body, chunk)
        const ours = yield* Effect.promise(() => fastest(chunk, () => sendWire(server.port, wire)))
        expect(ours.value.status).toBe(200)
        const parsed = parseStreamBody(ours.value.body)
        expect(parsed.end.error).toBeUndefined()
        expect(parsed.messages).toHaveLength(1)
        const rawRun = yield* Effect.promise(() => fastest(chunk, () => sendWire(portOf(raw.url), wire)))
        expect(rawRun.value.body.toString()).toBe(String(body.byteLength))
        rows.push({ chunk, oursMs: Math.round(ours.ms), rawMs: Math.round(rawRun.ms) })
      }
      console.log("server reading a 4 MiB message", rows)
      // Node's own HTTP parser costs a callback per chunk, so 1-byte chunks are slow for any
      // server; what we add on top of the least a server can do must stay a small multiple.
      for (const row of rows) expect(row.oursMs, JSON.stringify(row)).toBeLessThan(3 * row.rawMs + 300)
    }), { timeout: 120_000 })

  it.scoped("server: four times the bytes in 3-byte chunks costs about four times the time, not sixteen", () =>
    Effect.gen(function*() {
      const server = yield* ourLargeServer
      const ms = []
      for (const size of [1 * MiB, 4 * MiB]) {
        const body = envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { payload: payload(size - 16) })))
        const wire = chunkedMessage(requestHead(bidiPath, "application/connect+proto"), body, 3)
        // The faster of two runs: other test files share the machine's two cores.
        let fastest = Infinity
        for (let run = 0; run < 2; run++) {
          const call = yield* Effect.promise(() => timed(() => sendWire(server.port, wire)))
          expect(parseStreamBody(call.value.body).messages).toHaveLength(1)
          fastest = Math.min(fastest, call.ms)
        }
        ms.push(fastest)
      }
      console.log("server, 1 MiB then 4 MiB in 3-byte chunks (ms)", ms.map(Math.round))
      // Linear is 4; quadratic, 16.
      expect(ms[1]! / ms[0]!).toBeLessThan(10)
    }), { timeout: 120_000 })

  for (const transport of clientTransports) {
    it.scoped(`client over ${transport.name}: each is read whole, in time linear in the bytes`, () =>
      Effect.gen(function*() {
        const bytes = payload(4 * MiB - 16)
        const message = envelope(0, toBinary(EchoResponseSchema, create(EchoResponseSchema, { payload: bytes })))
        const end = envelope(2, enc.encode("{}"))
        const body = Buffer.concat([message, end])
        let chunk = 0
        const { url } = yield* nodeServer((req, res) => {
          req.resume()
          req.on("end", () => res.socket!.end(chunkedMessage("HTTP/1.1 200 OK\r\nContent-Type: application/connect+proto\r\nConnection: close", body, chunk)))
        })
        const context = yield* Layer.build(transport.layer({ baseUrl: url, readMaxBytes: 5 * MiB }))
        const client = yield* Effect.provide(ConnectClient.make(TestService), context)
        const rows: Array<{ chunk: number; oursMs: number; rawMs: number }> = []
        for (chunk of chunkSizes) {
          const ours = yield* Effect.promise(() =>
            fastest(chunk, () => Effect.runPromise(Stream.runCollect(client.serverStream({ count: 1 }))))
          )
          expectBytes(Array.from(ours.value, (r) => r.payload), [bytes])
          const rawRun = yield* Effect.promise(() =>
            fastest(chunk, async () => {
              const response = await undiciRequest(url, { method: "POST", body: "x" })
              let size = 0
              for await (const part of response.body) size += (part as Buffer).byteLength
              return size
            })
          )
          expect(rawRun.value).toBe(body.byteLength)
          rows.push({ chunk, oursMs: Math.round(ours.ms), rawMs: Math.round(rawRun.ms) })
        }
        console.log(`client over ${transport.name} reading a 4 MiB message`, rows)
        for (const row of rows) expect(row.oursMs, JSON.stringify(row)).toBeLessThan(3 * row.rawMs + 300)
      }), { timeout: 120_000 })
  }
})

/** Bodies built to make a server work hard, each answered with an error or an answer, never a stall. */
const hostileBodies = (): ReadonlyArray<{ readonly name: string; readonly wire: Buffer; readonly maxStallMs?: number }> => {
  const tiny = envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { payload: payload(3 * MiB) })))
  const bomb = zlib.gzipSync(new Uint8Array(64 * MiB))
  const depth = 1_500_000
  const nested = enc.encode(`{"text":${"[".repeat(depth)}${"]".repeat(depth)}}`)
  // Field 5 (tags) as a one-letter string, a million times.
  const repeated = new Uint8Array(3_000_000).map((_, i) => [0x2a, 0x01, 0x61][i % 3]!)
  // Field 15 (unknown to EchoRequest) as a varint, 1.5 million times.
  const unknown = new Uint8Array(3_000_000).map((_, i) => (i % 2 === 0 ? 0x78 : 0x01))
  return [
    { name: "3 MiB in 3-byte chunks", wire: chunkedMessage(requestHead(bidiPath, "application/connect+proto"), tiny, 3) },
    {
      name: "a gzip bomb (64 MiB of zeros)",
      wire: chunkedMessage(requestHead(echoPath, "application/proto", "\r\nContent-Encoding: gzip"), bomb, 64 * 1024)
    },
    { name: "JSON nested 1.5 million deep", wire: chunkedMessage(requestHead(echoPath, "application/json"), nested, 64 * 1024) },
    { name: "a million repeated strings", wire: chunkedMessage(requestHead(echoPath, "application/proto"), repeated, 64 * 1024) },
    {
      name: "1.5 million unknown fields",
      wire: chunkedMessage(requestHead(echoPath, "application/proto"), unknown, 64 * 1024),
      // protobuf-es keeps every unknown field as an object of its own: decoding 1.5 million of
      // them is one synchronous call of about 400 ms on this machine kind (docs/server.md), and
      // of 1.2 s (Node 20) and 2.0 s (Node 22) in one CI run, with other test files beside it.
      maxStallMs: 3000
    }
  ]
}

/**
 * The longest the event loop went without running a 1 ms timer, less that millisecond, until
 * `stop` (perf_hooks' monitorEventLoopDelay samples too coarsely to see one long stall reliably).
 */
const eventLoopGaps = () => {
  let last = performance.now()
  let longest = 0
  const timer = setInterval(() => {
    const now = performance.now()
    longest = Math.max(longest, now - last - 1)
    last = now
  }, 1)
  return {
    stop: () => {
      clearInterval(timer)
      return longest
    }
  }
}

describe("hostile bodies do not hold up other calls", () => {
  it.scoped("while each is read, a valid call on another connection answers promptly and the event loop keeps turning", () =>
    Effect.gen(function*() {
      const server = yield* ourLargeServer
      const echo = enc.encode(JSON.stringify({ text: "still here" }))
      for (const hostile of hostileBodies()) {
        const loop = eventLoopGaps()
        const answered = sendWire(server.port, hostile.wire)
        let slowest = 0
        let done = false
        void answered.finally(() => done = true)
        while (!done) {
          const probe = yield* Effect.promise(() =>
            timed(() =>
              sendWire(server.port, Buffer.concat([Buffer.from(`${requestHead(echoPath, "application/json")}\r\nContent-Length: ${echo.byteLength}\r\n\r\n`), echo]))
            )
          )
          expect(probe.value.status).toBe(200)
          slowest = Math.max(slowest, probe.ms)
        }
        const maxDelayMs = loop.stop()
        const response = yield* Effect.promise(() => answered)
        console.log(`${hostile.name}: answered ${response.status}, slowest concurrent call ${Math.round(slowest)} ms, event loop delay max ${Math.round(maxDelayMs)} ms`)
        expect(response.status, hostile.name).toBeGreaterThanOrEqual(200)
        // About 120 ms at most on a quiet 2-core machine; a 500 ms bound failed once at a load
        // average of 7-9 (other programs sharing the cores). The stalls this guards against
        // lasted seconds (14 s for a concurrent call before the tiny-chunks fix).
        expect(maxDelayMs, hostile.name).toBeLessThan(hostile.maxStallMs ?? 1000)
        expect(slowest, hostile.name).toBeLessThan(2 * (hostile.maxStallMs ?? 1000))
      }
    }), { timeout: 120_000 })
})

describe("memory is bounded by the calls in flight, not by how the bytes arrive", () => {
  it.scoped("32 calls with 1 MiB bodies in 20-byte chunks hold at most a few times 32 MiB", () =>
    Effect.gen(function*() {
      const readMaxBytes = MiB + 64
      const server = yield* Effect.map(
        Layer.build(ourServer({ readMaxBytes })),
        (context) => context.unsafeMap.get(ConnectServer.ConnectServer.key) as ConnectServer.ConnectServer["Type"]
      )
      const body = envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { payload: payload(MiB - 16) })))
      const wire = chunkedMessage(requestHead(`/${TestService.typeName}/ClientStream`, "application/connect+proto"), body, 20)
      // What the calls hold, not what they left for the collector: a peak that counts garbage
      // depends on when V8 collects, and failed at 209 MiB once in CI with the same code.
      const gc = collector()
      const retained = () => {
        gc()
        const usage = process.memoryUsage()
        return usage.heapUsed + usage.arrayBuffers
      }
      const before = retained()
      let peak = before
      const sampler = setInterval(() => peak = Math.max(peak, retained()), 50)
      const calls = 32
      const responses = yield* Effect.promise(() => Promise.all(Array.from({ length: calls }, () => sendWire(server.port, wire))))
      clearInterval(sampler)
      for (const response of responses) expect(parseStreamBody(response.body).end.error).toBeUndefined()
      const grownMiB = (peak - before) / MiB
      console.log(`${calls} calls of 1 MiB in 20-byte chunks: live heap and buffers grew by at most ${grownMiB.toFixed(1)} MiB`)
      // Each call holds its message (doubling as it arrives) and the socket's read buffers.
      expect(grownMiB).toBeLessThan(3 * calls * (readMaxBytes / MiB) + 32)
    }), { timeout: 120_000 })
})
