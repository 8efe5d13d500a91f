// `npm run bench [-- --quick] [-- --rounds R --seconds S --concurrency C --impls a,b,c --protocols h1,h2c]`
// Side-by-side benchmark of connect-effect, connect-node and a raw node:http ceiling, over HTTP/1.1
// and h2c (HTTP/2 without TLS, prior knowledge); see docs/benchmarks.md for the method. Progress goes to stderr, the Markdown report to stdout.
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg, totalmem } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { ensureH2load, h2load } from "./h2load.js"
import { checkServer } from "./check.js"
import { build, clientLoad, runDir, type Server, type ServerImpl, startServer } from "./processes.js"
import { Report } from "./report.js"
import { chunkedMessage, sendWire } from "../test/support/chunkedWire.js"
import { introducePath, largePontificateBody, parseIntroduce, pontificatePath, requestBodies, sayPath } from "./workload.js"

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    seconds: { type: "string" },
    concurrency: { type: "string", default: "16" },
    impls: { type: "string", default: "connect-effect,connect-effect-platform,connect-node,raw" },
    "memory-rounds": { type: "string" },
    introduce: { type: "string", default: "100x1024" },
    // h1: every HTTP/1.1 row (server load, tiny chunks, clients, memory); h2c: the h2c server rows.
    protocols: { type: "string", default: "h1,h2c" }
  }
})
const rounds = Number(args.rounds ?? (args.quick ? 1 : 5))
const seconds = Number(args.seconds ?? (args.quick ? 2 : 3))
const warmUp = Math.max(1, seconds / 5)
const connections = Number(args.concurrency)
const rssCounts = args.quick ? [5_000, 50_000] : [20_000, 200_000]
const memoryRounds = Number(args["memory-rounds"] ?? (args.quick ? 1 : 3))
const impls = args.impls.split(",") as Array<ServerImpl>
const introduceName = args.introduce
const protocols = args.protocols.split(",")
if (protocols.some((p) => p !== "h1" && p !== "h2c")) throw new Error(`--protocols takes h1 and/or h2c, got ${args.protocols}`)
const h1 = protocols.includes("h1")
// connect-effect-platform has no h2c server (NodeHttpServer serves HTTP/1.1).
const h2cImpls = protocols.includes("h2c") ? impls.filter((impl) => impl !== "connect-effect-platform") : []
const root = join(import.meta.dirname, "..")
const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`)

const loadAtStart = loadavg()[0]!
ensureH2load()
if (!existsSync(join(root, "examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.ts"))) {
  execFileSync(process.execPath, [join(root, "scripts/generate.mjs")], { stdio: "inherit" })
}
build()
const dir = join(runDir, "load")
mkdirSync(dir)
const bodies = requestBodies(introduceName)
const files = { sayBinary: join(dir, "say.binpb"), sayJson: join(dir, "say.json"), introduce: join(dir, "introduce.bin") }
for (const key of ["sayBinary", "sayJson", "introduce"] as const) writeFileSync(files[key], bodies[key])

const report = new Report()
const sayMetric = (codec: string) => `Say ${codec}, req/s`
const introduceMetric = `Introduce ${introduceName}, messages/s`
const h2cSayMetric = "h2c Say binary, req/s"
const h2cIntroduceMetric = `h2c ${introduceMetric}`
const tinyChunksMetric = "Pontificate, one 3 MB message in 20-byte chunks, ms per call"
const clientServer = impls.includes("raw") ? "raw" : "connect-node"
const clientMetric = `client calls/s (Say binary, ${clientServer} server)`
const clientCpuMetric = `client CPU µs per call (Say binary, ${clientServer} server)`
const chunkedClientMetric = "client calls/s (Say binary, raw server, chunked responses)"
const chunkedClientCpuMetric = "client CPU µs per call (Say binary, raw server, chunked responses)"
const rssLabels = rssCounts.map((n) => `${n / 1000}k`)
const rssGrowthMetric = `RSS growth ${rssLabels[0]} → ${rssLabels[1]}, %`
/** Round r visits the servers in an order rotated by r, so no server always goes first. */
const rotated = <A>(items: ReadonlyArray<A>, r: number): Array<A> =>
  items.map((_, i) => items[(i + r) % items.length]!)

const servers = new Map<ServerImpl, Server>()
for (const impl of impls) {
  const server = await startServer(impl)
  await checkServer(server.url, introduceName)
  servers.set(impl, server)
  log(`${impl} server pid ${server.pid} at ${server.url}: answers checked`)
}
// The h2c servers: connect-effect's is the same ConnectServer.layer process and port as for
// HTTP/1.1 (it tells the two apart by the HTTP/2 connection preface); connect-node's adapter and
// the raw handler get a node:http2 server of their own. A server whose h2c answers are wrong is
// left out of the h2c rows (and its targets say why) rather than stopping the whole run.
const h2cServers = new Map<ServerImpl, Server>()
const h2cLeftOut = new Map<ServerImpl, string>()
for (const impl of h2cImpls) {
  const server = impl === "connect-effect" ? servers.get(impl)! : await startServer(impl, true)
  try {
    await checkServer(server.url, introduceName, "h2c")
    h2cServers.set(impl, server)
    log(`${impl} h2c server pid ${server.pid} at ${server.url}: answers checked`)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    h2cLeftOut.set(impl, reason.split("\n")[0]!)
    log(`${impl} left out of the h2c rows: wrong or no answer over h2c: ${reason}`)
    if (server.http2) server.stop()
  }
}
const h2cMeasured = h2cImpls.filter((impl) => h2cServers.has(impl))

const unary = [
  { name: "binary", file: files.sayBinary, contentType: "application/proto" },
  { name: "JSON", file: files.sayJson, contentType: "application/json" }
]
const { count } = parseIntroduce(introduceName)

interface Load {
  readonly path: string
  readonly bodyFile: string
  readonly contentType: string
  /** Write h2load's per-request log, for latencies. */
  readonly latencies?: boolean
}

/** Runs `load` over `protocol` against each server of `measured` for every round, handing each result to `record`. */
const measure = async (
  protocol: "http/1.1" | "h2c",
  load: Load,
  on: ReadonlyMap<ServerImpl, Server>,
  measured: ReadonlyArray<ServerImpl>,
  record: (impl: ServerImpl, result: Awaited<ReturnType<typeof h2load>>, round: number) => void
) => {
  for (let r = 0; r < rounds; r++) {
    for (const impl of rotated(measured, r)) {
      const result = await h2load({
        protocol,
        url: on.get(impl)!.url + load.path,
        bodyFile: load.bodyFile,
        contentType: load.contentType,
        connections,
        amount: { seconds, warmUp },
        ...(load.latencies ? { logFile: join(dir, "latency.log") } : {})
      })
      record(impl, result, r)
    }
  }
}

/** Say rows (req/s, p50, p99) over `protocol`, named with `label` ("Say binary", "h2c Say binary"). */
const measureSay = (
  protocol: "http/1.1" | "h2c",
  label: string,
  codec: (typeof unary)[number],
  on: ReadonlyMap<ServerImpl, Server>,
  measured: ReadonlyArray<ServerImpl>
) =>
  measure(protocol, { path: sayPath, bodyFile: codec.file, contentType: codec.contentType, latencies: true }, on, measured, (impl, result, r) => {
    report.add(`${label}, req/s`, impl, result.perSecond)
    report.add(`${label}, p50 ms`, impl, result.p50Ms!, 2)
    report.add(`${label}, p99 ms`, impl, result.p99Ms!, 2)
    log(`round ${r + 1} ${label} ${impl}: ${result.perSecond.toFixed(0)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`)
  })

/** The Introduce row over `protocol`: every 2xx response is a complete stream of `count` messages (answers were checked). */
const measureIntroduce = (
  protocol: "http/1.1" | "h2c",
  metric: string,
  on: ReadonlyMap<ServerImpl, Server>,
  measured: ReadonlyArray<ServerImpl>
) =>
  measure(protocol, { path: introducePath, bodyFile: files.introduce, contentType: "application/connect+proto" }, on, measured, (impl, result, r) => {
    report.add(metric, impl, result.perSecond * count)
    log(`round ${r + 1} ${metric} ${impl}: ${(result.perSecond * count).toFixed(0)} messages/s`)
  })

if (h1) {
  for (const codec of unary) await measureSay("http/1.1", `Say ${codec.name}`, codec, servers, impls)
  await measureIntroduce("http/1.1", introduceMetric, servers, impls)
}

// A large message cut into tiny HTTP chunks: reading it must cost what its bytes cost, so the
// row stays near the raw server's (which only counts the bytes) whatever the chunking.
const tinyChunksWire = chunkedMessage(
  `POST ${pontificatePath} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Type: application/connect+proto`,
  largePontificateBody(),
  20
)
// connect-node 2.1 gathers such a message in time quadratic in its chunks (190-230 s a call on
// this machine kind): it gets one call in the first round of a full run only, none with --quick.
for (let r = 0; r < (h1 ? rounds : 0); r++) {
  for (const impl of rotated(impls, r)) {
    if (impl === "connect-node" && (r > 0 || args.quick)) continue
    const times: Array<number> = []
    for (let call = 0; call < (impl === "connect-node" ? 1 : 3); call++) {
      const start = performance.now()
      const response = await sendWire(Number(new URL(servers.get(impl)!.url).port), tinyChunksWire)
      if (response.status !== 200) throw new Error(`${impl} answered the tiny-chunks Pontificate with ${response.status}`)
      times.push(performance.now() - start)
    }
    const ms = times.sort((a, b) => a - b)[times.length >> 1]!
    report.add(tinyChunksMetric, impl, ms, 0)
    log(`round ${r + 1} Pontificate in 20-byte chunks ${impl}: ${ms.toFixed(0)} ms per call`)
  }
}

// h2c: the same loads as above (binary Say with latencies, and Introduce), over HTTP/2 with prior
// knowledge, one stream in flight per connection.
await measureSay("h2c", "h2c Say binary", unary[0]!, h2cServers, h2cMeasured)
await measureIntroduce("h2c", h2cIntroduceMetric, h2cServers, h2cMeasured)
for (const server of h2cServers.values()) if (server.http2) server.stop()

// Only the raw server can answer with a chunked body on request.
const clientTarget = servers.get("raw") ?? servers.get("connect-node")
const clientRuns = clientTarget === undefined || !h1 ? [] : [
  { metric: clientMetric, cpuMetric: clientCpuMetric, url: clientTarget.url, chunked: false },
  ...(clientTarget.impl === "raw"
    ? [{ metric: chunkedClientMetric, cpuMetric: chunkedClientCpuMetric, url: clientTarget.url, chunked: true }]
    : [])
]
// The clients of the servers listed: connect-effect's two paths (undici directly, and an
// @effect/platform HttpClient) and connect-node's.
const clientImpls = (["connect-effect", "connect-effect-platform", "connect-node"] as const).filter((impl) => impls.includes(impl))
for (const { chunked, cpuMetric, metric, url } of clientRuns) {
  for (let r = 0; r < rounds; r++) {
    for (const impl of rotated(clientImpls, r)) {
      const { cpuMicrosPerCall, perSecond } = await clientLoad(impl, url, connections, seconds, chunked)
      report.add(metric, impl, perSecond)
      report.add(cpuMetric, impl, cpuMicrosPerCall)
      log(`round ${r + 1} client ${impl}${chunked ? " (chunked)" : ""}: ${perSecond.toFixed(0)} calls/s, ${cpuMicrosPerCall} µs CPU per call`)
    }
  }
}

// Memory: each round starts a fresh server of every kind, in rotated order, and reads its memory
// after each step of load; growth is per server, and the table gives medians over rounds.
for (const server of servers.values()) server.stop()
for (let r = 0; r < (h1 ? memoryRounds : 0); r++) {
  for (const impl of rotated(impls, r)) {
    const server = await startServer(impl)
    let sent = 0
    const rss: Array<number> = []
    for (const target of rssCounts) {
      await h2load({
        url: server.url + sayPath,
        bodyFile: files.sayBinary,
        contentType: "application/proto",
        connections,
        amount: { requests: target - sent }
      })
      sent = target
      const { heapMiB, rssMiB } = await server.memory()
      rss.push(rssMiB)
      report.add(`RSS after ${target / 1000}k Say (after full GC), MiB`, impl, rssMiB, 1)
      report.add(`V8 heap used after ${target / 1000}k Say, MiB`, impl, heapMiB, 1)
    }
    report.add(rssGrowthMetric, impl, (rss[1]! / rss[0]! - 1) * 100, 1, false)
    log(`round ${r + 1} RSS ${impl}: ${rss.map((x) => x.toFixed(1)).join(" → ")} MiB`)
    server.stop()
  }
}

const h2loadVersion = execFileSync("h2load", ["--version"], { encoding: "utf8" }).trim()
console.log(
  `${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model} · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · ` +
    `Node ${process.version} · ${h2loadVersion}\n` +
    `HTTP/1.1, ${connections} connections, ${rounds} round(s) of ${seconds}s (+${warmUp}s warm-up) per server, ` +
    `${memoryRounds} memory round(s) · ` +
    `load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end (other work on the machine skews results)\n` +
    (h2cImpls.length === 0
      ? ""
      : `h2c rows: HTTP/2 without TLS (prior knowledge), ${connections} connections, 1 stream in flight on each` +
        [...h2cLeftOut].map(([impl, reason]) => ` · ${impl} left out (no good answer over h2c: ${reason})`).join("") +
        "\n")
)
console.log(report.table())
console.log("\nTargets (connect-effect):")
const targets: Array<{ metric: string; label: string; pass: (effectOverNode: number) => boolean }> = [
  ...unary.map((codec) => ({ metric: sayMetric(codec.name), label: ">= 1.2 x connect-node", pass: (x: number) => x >= 1.2 })),
  { metric: introduceMetric, label: ">= connect-node", pass: (x) => x >= 1 },
  { metric: h2cSayMetric, label: ">= 1.5 x connect-node", pass: (x) => x >= 1.5 },
  { metric: h2cIntroduceMetric, label: ">= 1.5 x connect-node", pass: (x) => x >= 1.5 },
  { metric: clientMetric, label: ">= connect-node", pass: (x) => x >= 1 },
  { metric: chunkedClientMetric, label: ">= connect-node", pass: (x) => x >= 1 }
]
for (const { metric, label, pass } of targets) {
  const ratio = report.ratio(metric, "connect-effect", "connect-node")
  // A server left out of the h2c rows fails its h2c targets: not answering h2c is not a pass.
  const leftOut = metric.startsWith("h2c ")
    ? (["connect-effect", "connect-node"] as const).find((impl) => h2cLeftOut.has(impl))
    : undefined
  console.log(
    `- ${metric} ${label}: ` +
      (leftOut !== undefined
        ? `not measured (${leftOut} gave no good answer over h2c), FAIL`
        : ratio === undefined
        ? "not measured"
        : `${ratio.toFixed(2)} x, ${pass(ratio) ? "PASS" : "FAIL"}`)
  )
}
const growth = report.median(rssGrowthMetric, "connect-effect")
const growths = report.values(rssGrowthMetric, "connect-effect") ?? []
console.log(
  `- RSS after ${rssLabels[1]} within 10% of after ${rssLabels[0]}: ` +
    (growth === undefined
      ? "not measured"
      : `${growth.toFixed(1)} % (median of ${growths.length}; each: ${growths.map((g) => g.toFixed(1)).join(", ")}), ` +
        (Math.abs(growth) <= 10 ? "PASS" : "FAIL"))
)
process.exit(0)
