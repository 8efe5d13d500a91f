// Child processes of a benchmark run: one per server, one per client load, all on loopback.
import { execFile, spawn, type ChildProcess } from "node:child_process"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { promisify } from "node:util"

const benchDir = import.meta.dirname
const tsx = ["--import", "tsx"]
const children = new Set<ChildProcess>()
process.on("exit", () => children.forEach((child) => child.kill("SIGTERM")))

export type ServerImpl = "connect-effect" | "connect-node" | "raw"

export interface Server {
  readonly impl: ServerImpl
  readonly url: string
  readonly pid: number
  /** Resident set size of the server process, MiB (VmRSS from /proc). */
  readonly rssMiB: () => number
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

/** Starts `bench/server.ts --impl impl` on a free port and waits for its "listening" line. */
export const startServer = async (impl: ServerImpl): Promise<Server> => {
  const port = await freePort()
  const child = spawn(process.execPath, [...tsx, `${benchDir}/server.ts`, "--impl", impl, "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  // Servers may log aborted streams when h2load closes its connections at the end of a timed run;
  // keep only the tail of stderr, to explain an unexpected exit.
  let stderr = ""
  child.stderr!.on("data", (chunk: Buffer) => stderr = (stderr + chunk.toString()).slice(-4000))
  child.once("exit", (code) => {
    console.error(`${impl} server exited unexpectedly (${code}); end of its stderr:\n${stderr}`)
    process.exit(1)
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${impl} server did not start within 30s`)), 30_000)
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("listening")) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  const pid = child.pid!
  return {
    impl,
    url: `http://127.0.0.1:${port}`,
    pid,
    rssMiB: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "latin1"))![1]) / 1024,
    stop: () => {
      child.removeAllListeners("exit")
      child.kill("SIGTERM")
      children.delete(child)
    }
  }
}

export type ClientImpl = "connect-effect" | "connect-node"

/** Runs `bench/client-load.ts` in its own process and returns its calls/s. */
export const clientCallsPerSecond = async (
  impl: ClientImpl,
  url: string,
  concurrency: number,
  seconds: number
): Promise<number> => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...tsx, `${benchDir}/client-load.ts`, "--impl", impl, "--url", url,
      "--concurrency", String(concurrency), "--seconds", String(seconds)],
    { timeout: (seconds * 2 + 60) * 1000 }
  )
  const { calls, failures } = JSON.parse(stdout) as { calls: number; failures: number }
  if (failures > 0) throw new Error(`${impl} client: ${failures} failed calls`)
  return calls / seconds
}
