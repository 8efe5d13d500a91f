// `npm run bench:server -- --impl connect-effect|connect-effect-platform|connect-node|raw --port P`
// Serves the benchmark service on 127.0.0.1:P and prints "listening <impl> <pid> http://127.0.0.1:P".
// On SIGUSR2 it prints "memory <rss bytes> <heapUsed bytes>", read a second after a full GC when run
// with --expose-gc (the GC's own scratch memory would otherwise count in the RSS).
import { parseArgs } from "node:util"

const impls = {
  "connect-effect": () => import("./servers/connect-effect.js"),
  "connect-effect-platform": () => import("./servers/connect-effect-platform.js"),
  "connect-node": () => import("./servers/connect-node.js"),
  raw: () => import("./servers/raw.js")
} as const

const { values } = parseArgs({ options: { impl: { type: "string" }, port: { type: "string" } } })
const impl = values.impl
if (impl === undefined || !(impl in impls) || values.port === undefined || !/^\d+$/.test(values.port)) {
  console.error("usage: bench:server -- --impl connect-effect|connect-effect-platform|connect-node|raw --port P")
  process.exit(2)
}
const port = Number(values.port)
const { serve } = await impls[impl as keyof typeof impls]()
await serve(port)
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0))
process.on("SIGUSR2", () => {
  globalThis.gc?.()
  setTimeout(() => {
    const { rss, heapUsed } = process.memoryUsage()
    console.log(`memory ${rss} ${heapUsed}`)
  }, 1000)
})
console.log(`listening ${impl} ${process.pid} http://127.0.0.1:${port}`)
