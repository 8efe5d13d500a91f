// `npm run bench:server -- --impl connect-effect|connect-effect-platform|connect-node|grpc-js|raw --port P [--http2] [--observability]`
// Serves the benchmark service on 127.0.0.1:P and prints "listening <impl> <pid> http://127.0.0.1:P".
// With --http2 it serves h2c (HTTP/2 without TLS, prior knowledge) instead of HTTP/1.1: connect-node's
// adapter and the raw handler on node:http2.createServer (both also answer gRPC there). connect-effect's
// ConnectServer.layer answers both, and gRPC, on one port, so the flag changes nothing for it; nor for
// grpc-js, which serves gRPC over h2c only; connect-effect-platform has no h2c.
// On SIGUSR2 it prints "memory <rss bytes> <heapUsed bytes>", read a second after a full GC when run
// with --expose-gc (the GC's own scratch memory would otherwise count in the RSS). --observability
// traces and measures every call (connect-effect only), to measure what that costs.
import { parseArgs } from "node:util"

type Serve = (port: number, options: { readonly observability?: boolean }) => Promise<void>
const impls: Record<string, () => Promise<{ serve: Serve; serveH2c?: Serve }>> = {
  "connect-effect": () => import("./servers/connect-effect.js").then(({ serve }) => ({ serve, serveH2c: serve })),
  "connect-effect-platform": () => import("./servers/connect-effect-platform.js"),
  "connect-node": () => import("./servers/connect-node.js"),
  "grpc-js": () => import("./servers/grpc-js.js"),
  raw: () => import("./servers/raw.js")
}

const usage = "usage: bench:server -- --impl connect-effect|connect-effect-platform|connect-node|grpc-js|raw --port P [--http2] [--observability]"
const parsed = (() => {
  try {
    return parseArgs({
      options: {
        impl: { type: "string" },
        port: { type: "string" },
        http2: { type: "boolean", default: false },
        observability: { type: "boolean", default: false }
      }
    })
  } catch (error) {
    // An unknown flag: said as the other commands say it, with exit code 2.
    console.error(`${(error as Error).message}\n${usage}`)
    process.exit(2)
  }
})()
const { values } = parsed
const impl = values.impl
if (impl === undefined || !(impl in impls) || values.port === undefined || !/^\d+$/.test(values.port)) {
  console.error(usage)
  process.exit(2)
}
const port = Number(values.port)
const { serve, serveH2c } = await impls[impl]!()
if (values.http2 && serveH2c === undefined) {
  console.error(`${impl} has no h2c server; ${usage}`)
  process.exit(2)
}
await (values.http2 ? serveH2c! : serve)(port, { observability: values.observability })
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0))
process.on("SIGUSR2", () => {
  globalThis.gc?.()
  setTimeout(() => {
    const { rss, heapUsed } = process.memoryUsage()
    console.log(`memory ${rss} ${heapUsed}`)
  }, 1000)
})
console.log(`listening ${impl} ${process.pid} http://127.0.0.1:${port}`)
