// Client calls/s: --concurrency loops of unary Say (binary codec) against --url, each calling
// back to back until a deadline, with our client or connect-node's, in Connect over HTTP/1.1 or
// with --protocol grpc in gRPC over h2c (then grpc-js's client too, and a raw node:http2 one as
// a ceiling). A warm-up of a quarter of --seconds runs first on the same client and is not counted. With --chunked, every call asks the
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

type Client = () => Promise<{ makePhase: (url: string, headers: Record<string, string>) => Promise<Phase> }>
const protocols: Record<string, Record<string, Client>> = {
  connect: {
    "connect-effect": () => import("./clients/connect-effect.js"),
    "connect-effect-platform": () => import("./clients/connect-effect-platform.js"),
    "connect-node": () => import("./clients/connect-node.js")
  },
  grpc: {
    "connect-effect": () => import("./clients/connect-effect-grpc.js"),
    "connect-node": () => import("./clients/connect-node-grpc.js"),
    "grpc-js": () => import("./clients/grpc-js.js"),
    raw: () => import("./clients/raw-grpc.js")
  }
}

const { values } = parseArgs({
  options: {
    impl: { type: "string" },
    url: { type: "string" },
    concurrency: { type: "string", default: "16" },
    seconds: { type: "string", default: "5" },
    chunked: { type: "boolean", default: false },
    protocol: { type: "string", default: "connect" }
  }
})
const client = protocols[values.protocol]?.[values.impl ?? ""]
if (client === undefined || values.url === undefined) {
  console.error(
    "usage: client-load.ts --impl connect-effect|connect-effect-platform|connect-node --url U [--concurrency K] [--seconds T] [--chunked]\n" +
      "       client-load.ts --protocol grpc --impl connect-effect|connect-node|grpc-js|raw --url U [--concurrency K] [--seconds T]"
  )
  process.exit(2)
}
const concurrency = Number(values.concurrency)
const seconds = Number(values.seconds)
const phase = await (await client()).makePhase(values.url, values.chunked ? { [chunkedHeader]: "1" } : {})
await phase(concurrency, Date.now() + seconds * 250)
const cpu0 = process.cpuUsage()
const counts = await phase(concurrency, Date.now() + seconds * 1000)
const cpu = process.cpuUsage(cpu0)
console.log(JSON.stringify({ ...counts, seconds, cpuMicrosPerCall: Math.round((cpu.user + cpu.system) / counts.calls) }))
process.exit(0)
