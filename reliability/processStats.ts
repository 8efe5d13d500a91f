/**
 * What one process holds, as the reliability runs sample it: memory from the process itself,
 * open file descriptors (and how many are sockets) from /proc, which sees what Node's own
 * counters do not.
 */
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync, readlinkSync } from "node:fs"

/** What the server process reports of itself. */
export interface ServerReport {
  readonly rssBytes: number
  readonly heapUsedBytes: number
  /** What V8 holds for its heap, used or not (not the freed pages it keeps pooled for reuse). */
  readonly heapTotalBytes: number
  /** At rest: the RSS after a further GC that reduces V8's footprint, returning its pooled pages. */
  readonly rssAfterReducingGcBytes?: number | undefined
  /** Memory of Buffers and other objects outside the V8 heap. */
  readonly externalBytes: number
  readonly http2Sessions: number
  readonly http1Connections: number
  readonly callsInFlight: number
  /** Fibers alive under the server (LiveFibers). */
  readonly fibers: number
}

/** A sample of a server process: its report, and its descriptors as /proc lists them. */
export interface ServerStats extends ServerReport {
  readonly fds: number
  readonly socketFds: number
}

/** The file descriptors of process `pid`, and how many of them are sockets (Linux only: 0 and 0 elsewhere). */
export const descriptorsOf = (pid: number): { readonly fds: number; readonly socketFds: number } => {
  let names: Array<string>
  try {
    names = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return { fds: 0, socketFds: 0 }
  }
  let socketFds = 0
  for (const name of names) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${name}`).startsWith("socket:")) socketFds++
    } catch {
      // closed between the listing and the read
    }
  }
  return { fds: names.length, socketFds }
}

export const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10

const clockTicksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }))

/**
 * The CPU time (user + system) `pid` has used, µs, from /proc: sampled around a load, it gives a
 * server's CPU per call, which a busy machine changes far less than its requests/s.
 */
export const cpuMicros = (pid: number): number => {
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 1e6 / clockTicksPerSecond
}
