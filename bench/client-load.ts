// Client calls/s: --concurrency loops of unary Say (binary codec) against --url, each calling
// back to back until a deadline, with our client or connect-node's. A warm-up of a quarter of
// --seconds runs first on the same client and is not counted. With --chunked, every call asks the
// raw server for a chunked response body (see `chunkedHeader`).
// Prints one JSON line: { "calls": n, "failures": n, "seconds": s, "cpuMicrosPerCall": µs }, the
// last being the process's CPU time (user + system) over the counted phase, per call.
import { parseArgs } from "node:util"
import { chunkedHeader } from "./workload.js"

export interface Counts {
  calls: number
  failures: number
}

/** Runs `concurrency` call loops until the `until` timestamp (ms) and counts the outcomes. */
export type Phase = (concurrency: number, until: number) => Promise<Counts>

const impls = {
  "connect-effect": () => import("./clients/connect-effect.js"),
  "connect-effect-platform": () => import("./clients/connect-effect-platform.js"),
  "connect-node": () => import("./clients/connect-node.js")
} as const

const { values } = parseArgs({
  options: {
    impl: { type: "string" },
    url: { type: "string" },
    concurrency: { type: "string", default: "16" },
    seconds: { type: "string", default: "5" },
    chunked: { type: "boolean", default: false }
  }
})
const impl = values.impl
if (impl === undefined || !(impl in impls) || values.url === undefined) {
  console.error("usage: client-load.ts --impl connect-effect|connect-effect-platform|connect-node --url U [--concurrency K] [--seconds T]")
  process.exit(2)
}
const concurrency = Number(values.concurrency)
const seconds = Number(values.seconds)
const phase = await (await impls[impl as keyof typeof impls]()).makePhase(values.url, values.chunked ? { [chunkedHeader]: "1" } : {})
await phase(concurrency, Date.now() + seconds * 250)
const cpu0 = process.cpuUsage()
const counts = await phase(concurrency, Date.now() + seconds * 1000)
const cpu = process.cpuUsage(cpu0)
console.log(JSON.stringify({ ...counts, seconds, cpuMicrosPerCall: Math.round((cpu.user + cpu.system) / counts.calls) }))
process.exit(0)
