// `npm run bench [-- --quick] [-- --rounds R --seconds S --concurrency C --impls a,b,c --protocols h1,h2c,grpc]`
// Side-by-side benchmark of connect-effect, connect-node, @grpc/grpc-js and a raw node:http ceiling,
// over HTTP/1.1, h2c (HTTP/2 without TLS, prior knowledge) and gRPC (over h2c); see docs/benchmarks.md
// for the method. Progress goes to stderr, the Markdown report to stdout.
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg, totalmem } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { ensureH2load, h2load } from "./h2load.js"
import { checkServer } from "./check.js"
import { cpuMicros } from "../reliability/processStats.js"
import { build, clientLoad, runDir, type Server, type ServerImpl, startServer } from "./processes.js"
import { Report } from "./report.js"
import { chunkedMessage, sendWire } from "../test/support/chunkedWire.js"
import {
  connectHeaders,
  grpcHeaders,
  introducePath,
  introduceResponseBody,
  largePontificateBody,
  parseIntroduce,
  pontificatePath,
  requestBodies,
  sayPath
} from "./workload.js"

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    seconds: { type: "string" },
    concurrency: { type: "string", default: "16" },
    impls: { type: "string", default: "connect-effect,connect-effect-platform,connect-node,grpc-js,raw" },
    "memory-rounds": { type: "string" },
    introduce: { type: "string", default: "100x1024" },
    // h1: every HTTP/1.1 row (server load, tiny chunks, clients, memory); h2c: the h2c server rows;
    // grpc: the gRPC rows (servers and clients, over h2c).
    protocols: { type: "string", default: "h1,h2c,grpc" }
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
if (protocols.some((p) => p !== "h1" && p !== "h2c" && p !== "grpc")) {
  throw new Error(`--protocols takes h1, h2c and/or grpc, got ${args.protocols}`)
}
const h1 = protocols.includes("h1")
// grpc-js serves gRPC over h2c only; connect-effect-platform has no h2c server (NodeHttpServer
// serves HTTP/1.1), so no gRPC either.
const h1Impls = impls.filter((impl) => impl !== "grpc-js")
const h2cImpls = protocols.includes("h2c") ? impls.filter((impl) => impl !== "connect-effect-platform" && impl !== "grpc-js") : []
const grpcImpls = protocols.includes("grpc") ? impls.filter((impl) => impl !== "connect-effect-platform") : []
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
const files = {
  sayBinary: join(dir, "say.binpb"),
  sayJson: join(dir, "say.json"),
  sayGrpc: join(dir, "say.grpc"),
  introduce: join(dir, "introduce.bin")
}
for (const key of ["sayBinary", "sayJson", "sayGrpc", "introduce"] as const) writeFileSync(files[key], bodies[key])

const report = new Report()
const sayMetric = (codec: string) => `Say ${codec}, req/s`
const introduceMetric = `Introduce ${introduceName}, messages/s`
const h2cSayMetric = "h2c Say binary, req/s"
const h2cIntroduceMetric = `h2c ${introduceMetric}`
const grpcSayMetric = "gRPC Say, req/s"
const grpcIntroduceMetric = `gRPC ${introduceMetric}`
const tinyChunksMetric = "Pontificate, one 3 MB message in 20-byte chunks, ms per call"
const clientServer = impls.includes("raw") ? "raw" : "connect-node"
const clientMetric = `client calls/s (Say binary, ${clientServer} server)`
const clientCpuMetric = `client CPU µs per call (Say binary, ${clientServer} server)`
const chunkedClientMetric = "client calls/s (Say binary, raw server, chunked responses)"
const chunkedClientCpuMetric = "client CPU µs per call (Say binary, raw server, chunked responses)"
const grpcClientServer = grpcImpls.includes("raw") ? "raw" : "connect-node"
const grpcClientMetric = `gRPC client calls/s (Say, ${grpcClientServer} server)`
const grpcClientCpuMetric = `gRPC client CPU µs per call (Say, ${grpcClientServer} server)`
const rssLabels = rssCounts.map((n) => `${n / 1000}k`)
const rssGrowthMetric = `RSS growth ${rssLabels[0]} → ${rssLabels[1]}, %`
/** Round r visits the servers in an order rotated by r, so no server always goes first. */
const rotated = <A>(items: ReadonlyArray<A>, r: number): Array<A> =>
  items.map((_, i) => items[(i + r) % items.length]!)

// The HTTP/1.1 servers; without the h1 rows only connect-effect's, which is also its h2c server.
const servers = new Map<ServerImpl, Server>()
for (const impl of h1 ? h1Impls : h1Impls.filter((impl) => impl === "connect-effect" && h2cImpls.length + grpcImpls.length > 0)) {
  const server = await startServer(impl)
  await checkServer(server.url, introduceName)
  servers.set(impl, server)
  log(`${impl} server pid ${server.pid} at ${server.url}: answers checked`)
}
// The h2c servers, for the h2c and gRPC rows: connect-effect's is the same ConnectServer.layer
// process and port as for HTTP/1.1 (it tells the two apart by the HTTP/2 connection preface);
// connect-node's adapter and the raw handler get a node:http2 server of their own (both answer
// Connect and gRPC there), and grpc-js its gRPC server. A server whose answers in a protocol are
// wrong is left out of that protocol's rows (and its targets say why) rather than stopping the run.
const h2Servers = new Map<ServerImpl, Server>()
for (const impl of new Set([...h2cImpls, ...grpcImpls])) {
  h2Servers.set(impl, impl === "connect-effect" ? servers.get(impl)! : await startServer(impl, true))
}
const { count } = parseIntroduce(introduceName)

/**
 * Checks the answers of the h2c servers of `candidates` in `protocol`, and returns those that
 * answered well; the others go into `leftOut` with the reason. In gRPC, a counted burst of calls
 * on every connection follows: each response must carry its whole message(s), which a call that
 * failed (still HTTP 200, its status in trailers) does not.
 */
const checkH2 = async (protocol: "h2c" | "grpc", candidates: ReadonlyArray<ServerImpl>, leftOut: Map<ServerImpl, string>) => {
  for (const impl of candidates) {
    const server = h2Servers.get(impl)!
    try {
      await checkServer(server.url, introduceName, protocol)
      if (protocol === "grpc") {
        const burst = { protocol: "h2c", headers: grpcHeaders, connections } as const
        await h2load({ ...burst, url: server.url + sayPath, bodyFile: files.sayGrpc, amount: { requests: 50 * connections }, responseBytes: bodies.sayGrpc.byteLength })
        await h2load({
          ...burst,
          url: server.url + introducePath,
          bodyFile: files.introduce,
          amount: { requests: 2 * connections },
          responseBytes: introduceResponseBody(introduceName, true).byteLength
        })
      }
      log(`${impl} ${protocol} server pid ${server.pid} at ${server.url}: answers checked`)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      leftOut.set(impl, reason.split("\n")[0]!)
      log(`${impl} left out of the ${protocol} rows: wrong or no answer in ${protocol}: ${reason}`)
    }
  }
  return candidates.filter((impl) => !leftOut.has(impl))
}
const h2cLeftOut = new Map<ServerImpl, string>()
const h2cMeasured = await checkH2("h2c", h2cImpls, h2cLeftOut)
const grpcLeftOut = new Map<ServerImpl, string>()
const grpcMeasured = await checkH2("grpc", grpcImpls, grpcLeftOut)

/** A Say request: its body and headers. */
interface SayRequest {
  readonly bodyFile: string
  readonly headers: Readonly<Record<string, string>>
}

const unary: ReadonlyArray<SayRequest & { readonly name: string }> = [
  { name: "binary", bodyFile: files.sayBinary, headers: connectHeaders("application/proto") },
  { name: "JSON", bodyFile: files.sayJson, headers: connectHeaders("application/json") }
]

interface Load {
  readonly path: string
  readonly bodyFile: string
  readonly headers: Readonly<Record<string, string>>
  /** Write h2load's per-request log, for latencies. */
  readonly latencies?: boolean
}

/** Runs `load` over `protocol` against each server of `measured` for every round, handing each result to `record`. */
const measure = async (
  protocol: "http/1.1" | "h2c",
  load: Load,
  on: ReadonlyMap<ServerImpl, Server>,
  measured: ReadonlyArray<ServerImpl>,
  record: (impl: ServerImpl, result: Awaited<ReturnType<typeof h2load>> & { readonly cpuPerCall: number }, round: number) => void
) => {
  for (let r = 0; r < rounds; r++) {
    for (const impl of rotated(measured, r)) {
      const server = on.get(impl)!
      // The server's CPU over the measured seconds, from the end of the warm-up.
      let cpuAtStart = 0
      const warmedUp = setTimeout(() => cpuAtStart = cpuMicros(server.pid), warmUp * 1000)
      const result = await h2load({
        protocol,
        url: server.url + load.path,
        bodyFile: load.bodyFile,
        headers: load.headers,
        connections,
        amount: { seconds, warmUp },
        ...(load.latencies ? { logFile: join(dir, "latency.log") } : {})
      })
      clearTimeout(warmedUp)
      const cpuPerCall = (cpuMicros(server.pid) - cpuAtStart) / (result.perSecond * seconds)
      record(impl, { ...result, cpuPerCall }, r)
    }
  }
}

/** Say rows (req/s, p50, p99) over `protocol`, named with `label` ("Say binary", "h2c Say binary", "gRPC Say"). */
const measureSay = (
  protocol: "http/1.1" | "h2c",
  label: string,
  request: SayRequest,
  on: ReadonlyMap<ServerImpl, Server>,
  measured: ReadonlyArray<ServerImpl>
) =>
  measure(protocol, { path: sayPath, ...request, latencies: true }, on, measured, (impl, result, r) => {
    report.add(`${label}, req/s`, impl, result.perSecond)
    report.add(`${label}, p50 ms`, impl, result.p50Ms!, 2)
    report.add(`${label}, p99 ms`, impl, result.p99Ms!, 2)
    report.add(`${label}, server CPU µs per call`, impl, result.cpuPerCall)
    log(`round ${r + 1} ${label} ${impl}: ${result.perSecond.toFixed(0)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${result.cpuPerCall.toFixed(0)} µs server CPU per call`)
  })

/**
 * The Introduce row over `protocol`, in Connect or gRPC (`headers`): every 2xx response is a
 * complete stream of `count` messages (answers were checked).
 */
const measureIntroduce = (
  protocol: "http/1.1" | "h2c",
  metric: string,
  headers: Readonly<Record<string, string>>,
  on: ReadonlyMap<ServerImpl, Server>,
  measured: ReadonlyArray<ServerImpl>
) =>
  measure(protocol, { path: introducePath, bodyFile: files.introduce, headers }, on, measured, (impl, result, r) => {
    report.add(metric, impl, result.perSecond * count)
    report.add(`${metric.replace(", messages/s", "")}, server CPU µs per call`, impl, result.cpuPerCall)
    log(`round ${r + 1} ${metric} ${impl}: ${(result.perSecond * count).toFixed(0)} messages/s, ${result.cpuPerCall.toFixed(0)} µs server CPU per call`)
  })

if (h1) {
  for (const codec of unary) await measureSay("http/1.1", `Say ${codec.name}`, codec, servers, h1Impls)
  await measureIntroduce("http/1.1", introduceMetric, connectHeaders("application/connect+proto"), servers, h1Impls)
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
  for (const impl of rotated(h1Impls, r)) {
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
await measureSay("h2c", "h2c Say binary", unary[0]!, h2Servers, h2cMeasured)
await measureIntroduce("h2c", h2cIntroduceMetric, connectHeaders("application/connect+proto"), h2Servers, h2cMeasured)

// gRPC: unary Say (binary protobuf) and Introduce over h2c, one stream in flight per connection,
// with the headers a gRPC client sends.
await measureSay("h2c", "gRPC Say", { bodyFile: files.sayGrpc, headers: grpcHeaders }, h2Servers, grpcMeasured)
await measureIntroduce("h2c", grpcIntroduceMetric, grpcHeaders, h2Servers, grpcMeasured)

// Only the raw server can answer with a chunked body on request.
const clientTarget = servers.get("raw") ?? servers.get("connect-node")
// The clients of the servers listed: connect-effect's two paths (undici directly, and an
// @effect/platform HttpClient) and connect-node's; in gRPC, ours (node:http2), connect-node's, grpc-js's and a raw
// node:http2 client, the ceiling of any client there.
const clientImpls = (["connect-effect", "connect-effect-platform", "connect-node"] as const).filter((impl) => impls.includes(impl))
const grpcClientImpls = (["connect-effect", "connect-node", "grpc-js", "raw"] as const).filter((impl) => impls.includes(impl))
const grpcClientTarget = grpcMeasured.includes(grpcClientServer) ? h2Servers.get(grpcClientServer) : undefined
const clientRuns = [
  ...(clientTarget === undefined || !h1 ? [] : [
    { metric: clientMetric, cpuMetric: clientCpuMetric, url: clientTarget.url, impls: clientImpls, options: {} },
    ...(clientTarget.impl === "raw"
      ? [{ metric: chunkedClientMetric, cpuMetric: chunkedClientCpuMetric, url: clientTarget.url, impls: clientImpls, options: { chunked: true } }]
      : [])
  ]),
  ...(grpcClientTarget === undefined ? [] : [
    { metric: grpcClientMetric, cpuMetric: grpcClientCpuMetric, url: grpcClientTarget.url, impls: grpcClientImpls, options: { protocol: "grpc" } as const }
  ])
]
for (const { cpuMetric, impls, metric, options, url } of clientRuns) {
  for (let r = 0; r < rounds; r++) {
    for (const impl of rotated(impls, r)) {
      const { cpuMicrosPerCall, perSecond } = await clientLoad(impl, url, connections, seconds, options)
      report.add(metric, impl, perSecond)
      report.add(cpuMetric, impl, cpuMicrosPerCall)
      log(`round ${r + 1} ${metric} ${impl}: ${perSecond.toFixed(0)} calls/s, ${cpuMicrosPerCall} µs CPU per call`)
    }
  }
}
for (const server of h2Servers.values()) if (server.http2) server.stop()

// Memory: each round starts a fresh server of every kind, in rotated order, and reads its memory
// after each step of load; growth is per server, and the table gives medians over rounds.
for (const server of servers.values()) server.stop()
for (let r = 0; r < (h1 ? memoryRounds : 0); r++) {
  for (const impl of rotated(h1Impls, r)) {
    const server = await startServer(impl)
    let sent = 0
    const rss: Array<number> = []
    for (const target of rssCounts) {
      await h2load({
        url: server.url + sayPath,
        bodyFile: files.sayBinary,
        headers: unary[0]!.headers,
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
        "\n") +
    (grpcImpls.length === 0
      ? ""
      : `gRPC rows: application/grpc (binary) over h2c, ${connections} connections, 1 stream in flight on each; ` +
        `grpc-status 0 checked before the load` +
        [...grpcLeftOut].map(([impl, reason]) => ` · ${impl} left out (no good gRPC answer: ${reason})`).join("") +
        "\n")
)
console.log(report.table())
console.log("\nTargets (connect-effect):")
interface Target {
  readonly metric: string
  /** What connect-effect is compared with, and how many times better it must do. */
  readonly base: ServerImpl
  readonly times: number
  /** The servers left out of the metric's protocol, if it has its own check (h2c, gRPC). */
  readonly leftOut?: { readonly protocol: string; readonly servers: ReadonlyMap<ServerImpl, string> }
}
const h2c = { protocol: "h2c", servers: h2cLeftOut }
const grpc = { protocol: "gRPC", servers: grpcLeftOut }
const targets: ReadonlyArray<Target> = [
  ...unary.map((codec) => ({ metric: sayMetric(codec.name), base: "connect-node" as const, times: 1.2 })),
  { metric: introduceMetric, base: "connect-node", times: 1 },
  { metric: h2cSayMetric, base: "connect-node", times: 1.5, leftOut: h2c },
  { metric: h2cIntroduceMetric, base: "connect-node", times: 1.5, leftOut: h2c },
  { metric: clientMetric, base: "connect-node", times: 1 },
  { metric: chunkedClientMetric, base: "connect-node", times: 1 },
  { metric: grpcSayMetric, base: "grpc-js", times: 1.5, leftOut: grpc },
  { metric: grpcSayMetric, base: "connect-node", times: 1.2, leftOut: grpc },
  { metric: grpcIntroduceMetric, base: "grpc-js", times: 1.5, leftOut: grpc },
  { metric: grpcIntroduceMetric, base: "connect-node", times: 1.2, leftOut: grpc },
  { metric: grpcClientMetric, base: "grpc-js", times: 1.5 }
]
for (const { base, leftOut, metric, times } of targets) {
  const ratio = report.ratio(metric, "connect-effect", base)
  // A server left out of a protocol's rows fails its targets there: no good answer is not a pass.
  const missing = ([base, "connect-effect"] as const).find((impl) => leftOut?.servers.has(impl))
  console.log(
    `- ${metric} >= ${times === 1 ? "" : `${times} x `}${base}: ` +
      (missing !== undefined
        ? `not measured (${missing} gave no good answer in ${leftOut!.protocol}), FAIL`
        : ratio === undefined
        ? "not measured"
        : `${ratio.toFixed(2)} x, ${ratio >= times ? "PASS" : "FAIL"}`)
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
