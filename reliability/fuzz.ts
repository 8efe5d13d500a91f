/**
 * `npm run fuzz -- [--seed N] [--runs N] [--kinds a,b] [--concurrency N] [--batch N]`: the long
 * fuzz run. Starts the fuzz server in a process of its own and sends it `--runs` inputs in
 * all (split over the kinds, default all of them, by their shares), in seeded batches, checking after
 * each batch that the server is alive, serves a valid call and holds nothing; prints progress
 * on stderr and a Markdown report on stdout; exits 1 if anything failed.
 */
import * as Effect from "effect/Effect"
import { loadavg } from "node:os"
import { parseArgs } from "node:util"
import { failuresOf, runCampaign } from "./campaign.js"
import { chooseByName, wholeNumber } from "./cli.js"
import { allKinds } from "./kinds/index.js"
import { mib } from "./processStats.js"

const usage = "usage: npm run fuzz -- [--seed N] [--runs N] [--kinds a,b] [--concurrency N] [--batch N]"
const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    runs: { type: "string", default: "100000" },
    kinds: { type: "string" },
    concurrency: { type: "string", default: "64" },
    batch: { type: "string", default: "500" }
  }
})
const integer = (name: string, value: string | undefined) => wholeNumber(usage, name, value)
const seed = integer("seed", values.seed)
const runs = integer("runs", values.runs)
const kinds = chooseByName(usage, "kinds", allKinds, values.kinds)
const shares = kinds.reduce((sum, k) => sum + k.share, 0)

const load = () => loadavg().map((n) => n.toFixed(2)).join(", ")
const started = new Date()
const loadBefore = load()
console.error(`fuzz: seed ${seed}, ${runs} inputs over ${kinds.length} kinds, Node ${process.version}, load ${loadBefore}`)

const report = await Effect.runPromise(
  runCampaign(kinds, {
    seed,
    runs: (kind) => Math.ceil((runs * kind.share) / shares),
    batchSize: integer("batch", values.batch),
    concurrency: integer("concurrency", values.concurrency),
    hardBoundMs: 30_000,
    log: (line) => console.error(line)
  })
)
const seconds = (Date.now() - started.getTime()) / 1000
const failures = failuresOf(report)

const lines = [
  `## Fuzz run: seed ${seed}, ${report.kinds.reduce((n, k) => n + k.inputs, 0)} inputs`,
  "",
  `\`npm run fuzz -- ${process.argv.slice(2).join(" ")}\`, ${started.toISOString()}, Node ${process.version}, ${seconds.toFixed(0)} s;` +
  ` load average ${loadBefore} before, ${load()} after.`,
  "",
  "| kind | inputs | seconds | hangs | problems | unhealthy batches | left-over batches | slowest (ms) | heap after each batch (MiB) | outcomes |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...report.kinds.map((k) =>
    `| ${k.kind} | ${k.inputs} | ${(k.ms / 1000).toFixed(0)} | ${k.hangs} | ${k.problems} | ${k.unhealthyBatches} | ${k.leftoverBatches} | ${k.slowestMs} | ` +
    `${k.heapAfterBatchesMiB.min}–${k.heapAfterBatchesMiB.max} | ${Object.entries(k.outcomes).sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o}: ${n}`).join(", ")} |`
  ),
  "",
  `Server: ${report.crashed === undefined ? "no crash" : `CRASHED: ${report.crashed}`}; heap after GC ${mib(report.before.heapUsedBytes)} MiB before, ` +
  `${report.after === undefined ? "?" : mib(report.after.heapUsedBytes)} MiB after; RSS ${mib(report.before.rssBytes)} → ` +
  `${report.after === undefined ? "?" : mib(report.after.rssBytes)} MiB; descriptors ${report.before.fds} → ${report.after?.fds ?? "?"}; ` +
  `${report.serverLogLines} lines logged.`,
  "",
  ...(failures.length === 0 ? ["Passed."] : ["Failed:", ...failures.map((f) => `- ${f}`)]),
  ...report.kinds.flatMap((k) => k.examples.map((e) => `    ${e}`)),
  ...report.serverLogTail.map((l) => `    server: ${l}`)
]
console.log(lines.join("\n"))
process.exit(failures.length === 0 ? 0 : 1)
