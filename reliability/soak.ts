/**
 * `npm run soak -- [--calls N] [--concurrency N] [--streams N] [--stream-rounds N]
 * [--stream-http 1.1|2] [--stream-messages N] [--stream-delay-ms N] [--sample-ms N]`: the soak
 * (soakRun.ts). Prints progress on stderr and a Markdown report on stdout: rates, each
 * measure's least, most and last value per phase, the server at rest between phases; exits 1
 * if a criterion failed.
 */
import * as Effect from "effect/Effect"
import { loadavg } from "node:os"
import { parseArgs } from "node:util"
import { wholeNumber } from "./cli.js"
import { mib } from "./processStats.js"
import { type Measure, rangeOf } from "./sampler.js"
import { rssQuarterPeaks, runSoak, soakFailures } from "./soakRun.js"

const usage = "usage: npm run soak -- [--calls N] [--concurrency N] [--streams N] [--stream-rounds N] [--stream-http 1.1|2]" +
  " [--stream-messages N] [--stream-delay-ms N] [--sample-ms N]"
const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "1000000" },
    concurrency: { type: "string", default: "64" },
    streams: { type: "string", default: "10000" },
    "stream-rounds": { type: "string", default: "1" },
    "stream-http": { type: "string", default: "2" },
    "stream-messages": { type: "string", default: "100" },
    "stream-delay-ms": { type: "string", default: "1000" },
    "sample-ms": { type: "string", default: "1000" }
  }
})
const integer = (name: keyof typeof values) => wholeNumber(usage, name, values[name])
const streamHttp = values["stream-http"]
if (streamHttp !== "1.1" && streamHttp !== "2") {
  console.error(`--stream-http is 1.1 or 2\n${usage}`)
  process.exit(2)
}

const load = () => loadavg().map((n) => n.toFixed(2)).join(", ")
const started = new Date()
const loadBefore = load()
const report = await Effect.runPromise(runSoak({
  calls: integer("calls"),
  concurrency: integer("concurrency"),
  streams: integer("streams"),
  streamHttp,
  streamMessages: integer("stream-messages"),
  streamDelayMs: integer("stream-delay-ms"),
  streamRounds: integer("stream-rounds"),
  sampleMs: integer("sample-ms"),
  log: (line) => console.error(line)
}))
const failures = soakFailures(report)

const measures: ReadonlyArray<readonly [Measure, string, (n: number) => string]> = [
  ["rssBytes", "server RSS (MiB)", (n) => String(mib(n))],
  ["heapUsedBytes", "server heap used (MiB)", (n) => String(mib(n))],
  ["fds", "server file descriptors", String],
  ["socketFds", "server sockets (descriptors)", String],
  ["http1Connections", "HTTP/1.1 connections", String],
  ["http2Sessions", "HTTP/2 sessions", String],
  ["callsInFlight", "calls in flight", String],
  ["fibers", "live fibers (server)", String],
  ["clientRssBytes", "client RSS (MiB)", (n) => String(mib(n))]
]
const rounds = report.streamRounds.map((_, i) => i + 1)
const phases = ["calls", "rest after calls", ...rounds.flatMap((r) => [`streams ${r}`, `rest after streams ${r}`])]
const cell = (phase: string, measure: Measure, show: (n: number) => string) => {
  const range = rangeOf(report.samples, phase, measure)
  return range === undefined ? "–" : `${show(range.min)} / ${show(range.max)} / ${show(range.last)}`
}
const rest = (label: string, s: typeof report.baseline) =>
  `| ${label} | ${mib(s.rssBytes)} | ${s.rssAfterReducingGcBytes === undefined ? "–" : mib(s.rssAfterReducingGcBytes)} | ${mib(s.heapUsedBytes)} | ${mib(s.heapTotalBytes)} | ${mib(s.externalBytes)} | ${s.fds} | ${s.socketFds} | ${s.callsInFlight} | ${s.http1Connections} | ${s.http2Sessions} | ${s.fibers} |`
const peaks = rssQuarterPeaks(report)
const streamFailures = JSON.stringify(report.streamFailures)

console.log([
  `## Soak: ${report.calls.done} unary calls, ${integer("streams")} server streams × ${report.streamRounds.length} rounds`,
  "",
  `\`npm run soak -- ${process.argv.slice(2).join(" ")}\`, ${started.toISOString()}, Node ${process.version}; load average ${loadBefore} before, ${load()} after.`,
  "",
  `- Unary: ${report.calls.done} calls in ${report.calls.seconds.toFixed(0)} s, ${(report.calls.done / report.calls.seconds).toFixed(0)} calls/s, failures ${JSON.stringify(report.calls.failures)}.`,
  ...report.streamRounds.map((r, i) =>
    `- Streams, round ${i + 1}: ${integer("streams")} over HTTP/${streamHttp}, ${integer("stream-messages")} messages each, one every ` +
    `${integer("stream-delay-ms")} ms, done in ${r.seconds.toFixed(0)} s; at most ${r.peakInFlight} in flight at once (sampled)` +
    (r.allOpen === undefined
      ? "; never all open at once."
      : `; all open ${r.allOpen.seconds.toFixed(0)} s after the first, holding ${mib(r.allOpen.stats.heapUsedBytes - report.baseline.heapUsedBytes)} MiB ` +
        `of live heap more than at rest (${((r.allOpen.stats.heapUsedBytes - report.baseline.heapUsedBytes) / integer("streams") / 1024).toFixed(1)} KiB a stream) ` +
        `and ${r.allOpen.stats.fibers} fibers.`)
  ),
  `- Stream failures: ${streamFailures}.`,
  ...(peaks.length === 0 ? [] : [`- Server RSS while the calls ran, highest in each quarter of them: ${peaks.map(mib).join(", ")} MiB.`]),
  "",
  `Sampled every ${integer("sample-ms")} ms, least / most / last:`,
  "",
  `| measure | ${phases.join(" | ")} |`,
  `| --- |${phases.map(() => " --- |").join("")}`,
  ...measures.map(([measure, label, show]) => `| ${label} | ${phases.map((p) => cell(p, measure, show)).join(" | ")} |`),
  "",
  "At rest (the clients gone, after a full GC and a second):",
  "",
  "| when | RSS (MiB) | RSS after a reducing GC (MiB) | heap used (MiB) | heap held by V8 (MiB) | external (MiB) | descriptors | sockets | calls | HTTP/1.1 connections | HTTP/2 sessions | fibers |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  rest("after a 5,000-call warm-up", report.baseline),
  rest("after the unary calls", report.afterCalls),
  ...report.streamRounds.map((r, i) => rest(`after streams round ${i + 1}`, r.afterwards)),
  "",
  ...(failures.length === 0 ? ["Passed."] : ["Failed:", ...failures.map((f) => `- ${f}`)])
].join("\n"))
process.exit(failures.length === 0 ? 0 : 1)
