/**
 * `npm run stall -- [--connections N] [--stalls a,b] [--rounds N] [--bound-s S]`: peers that
 * stop, against the reliability server at the library's defaults. Opens `--connections`
 * connections (default 1,000) for each stall of stalls.ts, all at once, `--rounds` times (2),
 * and records when the server answered, sent GOAWAY and closed each. Prints progress on stderr
 * and a Markdown report on stdout; exits 1 if a connection was still open after `--bound-s`
 * seconds (default 180), if a valid call failed after a round, if the server held a call,
 * connection, fiber or descriptor at rest that it did not hold before, or if its heap at rest
 * grew from round to round (the first round's growth is the server's first use of HTTP/2).
 */
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import { loadavg } from "node:os"
import { parseArgs } from "node:util"
import { chooseByName, wholeNumber } from "./cli.js"
import { mib, type ServerStats } from "./processStats.js"
import { spread } from "./report.js"
import { type Sample, sampleEvery } from "./sampler.js"
import { serverProcess } from "./serverProcess.js"
import { soakServer } from "./soakRun.js"
import { type StallOutcome, stalls, watchStall } from "./stalls.js"

const usage = "usage: npm run stall -- [--connections N] [--stalls a,b] [--rounds N] [--bound-s S]"
const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "1000" },
    stalls: { type: "string" },
    rounds: { type: "string", default: "2" },
    "bound-s": { type: "string", default: "180" }
  }
})
const integer = (name: "connections" | "rounds" | "bound-s") => wholeNumber(usage, name, values[name])
const connections = integer("connections")
const rounds = integer("rounds")
const boundMs = integer("bound-s") * 1000
const chosen = chooseByName(usage, "stalls", stalls, values.stalls)

/** Opens `count` stalls of each kind, 100 connections every 10 ms, so that the listen backlog keeps up. */
const openAll = (port: number) => {
  const started: Array<Promise<StallOutcome>> = []
  const kinds = chosen.flatMap((stall) => Array.from({ length: connections }, () => stall))
  return new Promise<ReadonlyArray<ReadonlyArray<StallOutcome>>>((resolve) => {
    const next = () => {
      for (const stall of kinds.splice(0, 100)) started.push(watchStall(port, stall, boundMs))
      if (kinds.length > 0) return setTimeout(next, 10)
      void Promise.all(started).then((outcomes) =>
        resolve(chosen.map((_, i) => outcomes.slice(i * connections, (i + 1) * connections)))
      )
    }
    next()
  })
}

/** A valid unary call's HTTP status (0: no answer), on a connection of its own that it closes. */
const valid = (url: string) =>
  Effect.async<number>((resume) => {
    const request = Http.request(`${url}/connecteffect.test.v1.TestService/Echo`, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/proto", "connect-protocol-version": "1", "content-length": "0", connection: "close" }
    }, (response) => {
      response.resume()
      response.on("end", () => resume(Effect.succeed(response.statusCode ?? 0)))
    })
    request.on("error", () => resume(Effect.succeed(0)))
    request.end()
  })

const load = () => loadavg().map((n) => n.toFixed(2)).join(", ")
const startedAt = new Date()
const loadBefore = load()
const log = (line: string) => console.error(`[stall ${new Date().toISOString().slice(11, 19)}] ${line}`)

const run = Effect.scoped(Effect.gen(function*() {
  const server = yield* serverProcess(soakServer)
  const before = yield* server.stats("settled")
  log(`server ${server.url}; at rest: ${before.fds} descriptors, RSS ${mib(before.rssBytes)} MiB`)
  const samples: Array<Sample> = []
  yield* sampleEvery(server, 5000, () => "stalls", samples)
  const outcomes: Array<Array<StallOutcome>> = chosen.map(() => [])
  const rests: Array<{ readonly stats: ServerStats; readonly validStatus: number }> = []
  for (let round = 1; round <= rounds; round++) {
    log(`round ${round}: ${chosen.length} stalls × ${connections} connections, bound ${boundMs / 1000} s`)
    const opened = yield* Effect.promise(() => openAll(server.port))
    opened.forEach((o, i) => outcomes[i]!.push(...o))
    log("every connection closed or past its bound")
    // The server's own connection checks may lag its clients' view of a close by a moment.
    yield* Effect.sleep("2 seconds")
    const validStatus = yield* valid(server.url)
    rests.push({ validStatus, stats: yield* server.stats("settled") })
  }
  return { before, rests, samples: [...samples], outcomes, output: server.output() }
}))

const result = await Effect.runPromise(run)

const defined = (values: ReadonlyArray<number | undefined>) => values.filter((v): v is number => v !== undefined)
const answers = (outcomes: ReadonlyArray<StallOutcome>) => {
  const counts = new Map<string, number>()
  for (const o of outcomes) if (o.answer !== undefined) counts.set(o.answer, (counts.get(o.answer) ?? 0) + 1)
  return [...counts].map(([answer, n]) => `${n} × ${answer}`).join(", ") || "none"
}
const peak = (measure: "fds" | "http1Connections" | "http2Sessions" | "callsInFlight" | "rssBytes") =>
  Math.max(...result.samples.map((s) => s[measure]))

const failures: Array<string> = []
result.outcomes.forEach((outcomes, i) => {
  const open = outcomes.filter((o) => o.closedMs === undefined).length
  if (open > 0) failures.push(`${chosen[i]!.name}: ${open} connections still open after ${boundMs / 1000} s`)
})
result.rests.forEach(({ validStatus }, i) => {
  if (validStatus !== 200) failures.push(`a valid call after round ${i + 1} got HTTP ${validStatus}`)
})
const before = result.before
const after = result.rests[result.rests.length - 1]!.stats
for (const measure of ["callsInFlight", "http1Connections", "http2Sessions", "fibers"] as const) {
  if (after[measure] > before[measure]) failures.push(`at rest the server holds ${after[measure]} ${measure} (${before[measure]} before)`)
}
if (after.fds > before.fds) failures.push(`at rest the server holds ${after.fds} descriptors (${before.fds} before)`)
const first = result.rests[0]!.stats
if (after.heapUsedBytes > Math.max(first.heapUsedBytes * 1.1, first.heapUsedBytes + 5 * 2 ** 20)) {
  failures.push(`at rest the server's heap grew to ${mib(after.heapUsedBytes)} MiB after the last round, from ${mib(first.heapUsedBytes)} MiB after the first (10% or 5 MiB allowed)`)
}
if (result.output.lines > 0) failures.push(`the server logged ${result.output.lines} lines; the last: ${result.output.tail.join(" | ")}`)

console.log([
  `## Stalled peers: ${connections} connections per stall${rounds === 1 ? "" : `, ${rounds} rounds`}`,
  "",
  `\`npm run stall -- ${process.argv.slice(2).join(" ")}\`, ${startedAt.toISOString()}, Node ${process.version}; load average ${loadBefore} before, ${load()} after.`,
  "",
  "Seconds after the stall's bytes were written, least / median / most:",
  "",
  "| stall | what it sends, then nothing | answered | answers | time to answer (s) | GOAWAY | time to GOAWAY (s) | closed by the server | within a second (a limit) | time to close (s) | open at the bound |",
  "| --- | --- | ---: | --- | --- | ---: | --- | ---: | ---: | --- | ---: |",
  ...result.outcomes.map((outcomes, i) => {
    const answered = defined(outcomes.map((o) => o.answeredMs))
    const goaways = defined(outcomes.map((o) => o.goawayMs))
    const closed = defined(outcomes.map((o) => o.closedMs))
    return `| \`${chosen[i]!.name}\` | ${chosen[i]!.what} | ${answered.length} | ${answers(outcomes)} | ${spread(answered)} | ${goaways.length} | ` +
      `${spread(goaways)} | ${closed.length} | ${closed.filter((ms) => ms < 1000).length} | ${spread(closed)} | ${outcomes.length - closed.length} |`
  }),
  "",
  `Server, sampled every 5 s: at most ${peak("http1Connections")} HTTP/1.1 connections, ${peak("http2Sessions")} HTTP/2 sessions, ` +
  `${peak("callsInFlight")} calls in flight, ${peak("fds")} descriptors, RSS ${mib(peak("rssBytes"))} MiB.`,
  "",
  "| server at rest (after a full GC) | RSS (MiB) | heap used (MiB) | descriptors | calls | HTTP/1.1 connections | HTTP/2 sessions | fibers |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...[["before", before] as const, ...result.rests.map(({ stats }, i) => [`after round ${i + 1}`, stats] as const)].map(([label, s]) =>
    `| ${label} | ${mib(s.rssBytes)} | ${mib(s.heapUsedBytes)} | ${s.fds} | ${s.callsInFlight} | ${s.http1Connections} | ${s.http2Sessions} | ${s.fibers} |`
  ),
  "",
  `A valid call after each round: HTTP ${result.rests.map((r) => r.validStatus).join(", ")}.`,
  "",
  ...(failures.length === 0 ? ["Passed."] : ["Failed:", ...failures.map((f) => `- ${f}`)])
].join("\n"))
process.exit(failures.length === 0 ? 0 : 1)
