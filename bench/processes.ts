// Child processes of a benchmark run: one per server, one per client load, all on loopback.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process"
import { rmSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { promisify } from "node:util"

// The bench's own TypeScript, with the library and the generated code, compiled by `build()` into
// a directory of this run under bench/dist (git-ignored; removed at exit, so that runs never share
// files): the servers and clients run as plain JavaScript, as in production (no loader thread).
const benchDir = import.meta.dirname
/** This run's directory: compiled code, request bodies, latency logs. */
export const runDir = join(benchDir, "dist", `run-${process.pid}`)
const compiled = join(runDir, "bench")

/** Compiles bench/ (and what it imports) into `runDir`. */
export const build = (): void => {
  process.on("exit", () => rmSync(runDir, { recursive: true, force: true }))
  const tsc = join(benchDir, "../node_modules/typescript/bin/tsc")
  execFileSync(process.execPath, [tsc, "-p", join(benchDir, "tsconfig.json"), "--outDir", runDir], { stdio: "inherit" })
}

const children = new Set<ChildProcess>()
process.on("exit", () => children.forEach((child) => child.kill("SIGTERM")))

export type ServerImpl = "connect-effect" | "connect-effect-platform" | "connect-node" | "grpc-js" | "raw"

export interface Server {
  readonly impl: ServerImpl
  /**
   * Started with `--http2`: a server of its own for h2c (connect-effect's answers both on one port;
   * grpc-js's serves h2c only, with or without the flag).
   */
  readonly http2: boolean
  readonly url: string
  readonly pid: number
  /** The server's RSS and V8 heap in use, MiB, read a second after a full GC. */
  readonly memory: () => Promise<{ readonly rssMiB: number; readonly heapMiB: number }>
  readonly stop: () => void
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => typeof address === "object" && address !== null ? resolve(address.port) : reject())
    })
  })

/**
 * Starts the compiled `bench/server.ts --impl impl` (with `--http2`: its h2c server) on a free port
 * and waits for its "listening" line.
 */
export const startServer = async (impl: ServerImpl, http2 = false): Promise<Server> => {
  const port = await freePort()
  const args = ["--expose-gc", join(compiled, "server.js"), "--impl", impl, "--port", String(port), ...(http2 ? ["--http2"] : [])]
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] })
  children.add(child)
  // Servers may log aborted streams when h2load closes its connections at the end of a timed run;
  // keep only the tail of stderr, to explain an unexpected exit.
  let stderr = ""
  child.stderr!.on("data", (chunk: Buffer) => stderr = (stderr + chunk.toString()).slice(-4000))
  child.once("exit", (code) => {
    console.error(`${impl}${http2 ? " h2c" : ""} server exited unexpectedly (${code}); end of its stderr:\n${stderr}`)
    process.exit(1)
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${impl}${http2 ? " h2c" : ""} server did not start within 30s`)), 30_000)
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("listening")) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  return {
    impl,
    http2,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    memory: () =>
      new Promise((resolve) => {
        const onData = (chunk: Buffer) => {
          const match = /memory (\d+) (\d+)/.exec(chunk.toString())
          if (match === null) return
          child.stdout!.off("data", onData)
          resolve({ rssMiB: Number(match[1]) / 2 ** 20, heapMiB: Number(match[2]) / 2 ** 20 })
        }
        child.stdout!.on("data", onData)
        child.kill("SIGUSR2")
      }),
    stop: () => {
      child.removeAllListeners("exit")
      child.kill("SIGTERM")
      children.delete(child)
    }
  }
}

export type ClientImpl = "connect-effect" | "connect-effect-platform" | "connect-node" | "grpc-js" | "raw"

export interface ClientLoad {
  readonly perSecond: number
  /** CPU time (user + system) of the client process per call, µs: steadier than calls/s on a busy machine. */
  readonly cpuMicrosPerCall: number
}

/**
 * Runs the compiled `bench/client-load.ts` in its own process (Connect over HTTP/1.1, or gRPC over
 * h2c) and returns its calls/s and CPU per call.
 */
export const clientLoad = async (
  impl: ClientImpl,
  url: string,
  concurrency: number,
  seconds: number,
  options: { readonly chunked?: boolean; readonly protocol?: "connect" | "grpc" } = {}
): Promise<ClientLoad> => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(compiled, "client-load.js"), "--impl", impl, "--url", url, "--protocol", options.protocol ?? "connect",
      "--concurrency", String(concurrency), "--seconds", String(seconds), ...(options.chunked ? ["--chunked"] : [])],
    { timeout: (seconds * 2 + 60) * 1000 }
  )
  const { calls, cpuMicrosPerCall, failures } = JSON.parse(stdout) as { calls: number; cpuMicrosPerCall: number; failures: number }
  if (failures > 0) throw new Error(`${impl} client: ${failures} failed calls`)
  return { perSecond: calls / seconds, cpuMicrosPerCall }
}
