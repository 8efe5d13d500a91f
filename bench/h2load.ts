// Drives h2load (Debian's nghttp2-client) over HTTP/1.1 (`--h1`) or h2c (HTTP/2 with prior knowledge,
// one stream in flight per connection; gRPC too, whose requests are posts with gRPC's headers and a
// framed body) and reads its summary and per-request log.
import { execFile, execFileSync } from "node:child_process"
import { readFileSync, rmSync } from "node:fs"
import { promisify } from "node:util"

const run = promisify(execFile)

/** Installs h2load with apt-get when it is not on the PATH. */
export const ensureH2load = (): void => {
  try {
    execFileSync("h2load", ["--version"], { stdio: "ignore" })
  } catch {
    console.error("h2load not found: installing nghttp2-client with apt-get")
    execFileSync("sh", ["-c", "apt-get update -qq && apt-get install -y -qq nghttp2-client"], { stdio: "inherit" })
  }
}

export interface Load {
  /** HTTP/1.1 (the default) or h2c: HTTP/2 without TLS, with prior knowledge (no upgrade). */
  readonly protocol?: "http/1.1" | "h2c"
  readonly url: string
  readonly bodyFile: string
  /** Every request's headers, content-type included. */
  readonly headers: Readonly<Record<string, string>>
  readonly connections: number
  /** Either a timed run (warm-up + duration, seconds) or a fixed number of requests. */
  readonly amount: { readonly seconds: number; readonly warmUp: number } | { readonly requests: number }
  /** When set, per-request latencies are written there and summarised into p50/p99. */
  readonly logFile?: string
  /**
   * For a counted run: the DATA bytes every response must carry. h2load sees HTTP statuses only,
   * and a gRPC call that fails still answers 200, but with no message (its status in trailers
   * alone): a total short of this times the requests shows such failures. (In a timed run
   * h2load's byte counts also take in the warm-up and the responses cut off at the end.)
   */
  readonly responseBytes?: number
}

export interface Result {
  /** Requests per second over the main duration (timed run) or the whole run (counted run). */
  readonly perSecond: number
  readonly p50Ms?: number
  readonly p99Ms?: number
}

const num = (text: string, re: RegExp): number => {
  const match = re.exec(text)
  if (match === null) throw new Error(`unexpected h2load output, no ${re}:\n${text}`)
  return Number(match[1])
}

const percentiles = (logFile: string): { p50Ms: number; p99Ms: number } => {
  const micros = readFileSync(logFile, "latin1").trim().split("\n").map((line) => Number(line.split("\t")[2]))
  rmSync(logFile)
  micros.sort((a, b) => a - b)
  const at = (q: number) => micros[Math.min(micros.length - 1, Math.floor(q * micros.length))]! / 1000
  return { p50Ms: at(0.5), p99Ms: at(0.99) }
}

export const h2load = async (load: Load): Promise<Result> => {
  const args = [
    // h2c: without --h1, h2load speaks HTTP/2 to an http:// URL from the first byte; -m 1 (its
    // default, made explicit) keeps one request in flight per connection, as over HTTP/1.1.
    ...(load.protocol === "h2c" ? ["-m", "1"] : ["--h1"]), "-t", "1", "-c", String(load.connections),
    ...Object.entries(load.headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    "-d", load.bodyFile
  ]
  if ("seconds" in load.amount) args.push("-D", String(load.amount.seconds), `--warm-up-time=${load.amount.warmUp}`)
  else args.push("-n", String(load.amount.requests))
  if (load.logFile !== undefined) args.push(`--log-file=${load.logFile}`)
  args.push(load.url)
  const { stdout } = await run("h2load", args, { timeout: 600_000, maxBuffer: 16 << 20 })
  // At the end of a timed run, a response whose headers arrived but whose body did not is counted
  // in "2xx" but not in "succeeded": count "succeeded", and require no other status at all.
  const total = num(stdout, /requests: (\d+) total/)
  const succeeded = num(stdout, /(\d+) succeeded/)
  const other = num(stdout, /(\d+) 3xx/) + num(stdout, /(\d+) 4xx/) + num(stdout, /(\d+) 5xx/)
  if (succeeded !== total || other !== 0) {
    throw new Error(`h2load: not every request succeeded against ${load.url}:\n${stdout}`)
  }
  if (load.responseBytes !== undefined && num(stdout, /\((\d+)\) data/) !== total * load.responseBytes) {
    throw new Error(`h2load: not every response carried its ${load.responseBytes} bytes from ${load.url}:\n${stdout}`)
  }
  return {
    perSecond: num(stdout, /finished in [\d.]+m?s, ([\d.]+) req\/s/),
    ...(load.logFile === undefined ? {} : percentiles(load.logFile))
  }
}
