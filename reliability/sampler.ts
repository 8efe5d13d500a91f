/**
 * Samples a server process (and the runner's own memory) every `everyMs` while a soak runs,
 * each sample labelled with the phase it was taken in, and sums them up per phase as the
 * least, the most and the last value of each measure.
 */
import * as Effect from "effect/Effect"
import type { ServerStats } from "./processStats.js"
import type { ServerProcess } from "./serverProcess.js"

export interface Sample extends ServerStats {
  readonly phase: string
  readonly atMs: number
  readonly clientRssBytes: number
  readonly clientHeapUsedBytes: number
}

export type Measure = Exclude<keyof Sample, "phase" | "atMs" | "rssAfterReducingGcBytes">

export interface Range {
  readonly min: number
  readonly max: number
  readonly last: number
}

/** Samples `server` every `everyMs`, into `samples`, labelled with `phase()`, in a fiber of the Scope. */
export const sampleEvery = (server: ServerProcess, everyMs: number, phase: () => string, samples: Array<Sample>) =>
  Effect.forkScoped(Effect.gen(function*() {
    const start = Date.now()
    for (;;) {
      const stats = yield* server.stats()
      const own = process.memoryUsage()
      samples.push({ ...stats, phase: phase(), atMs: Date.now() - start, clientRssBytes: own.rss, clientHeapUsedBytes: own.heapUsed })
      yield* Effect.sleep(everyMs)
    }
  }))

/** The least, most and last of `measure` over the samples of `phase`. */
export const rangeOf = (samples: ReadonlyArray<Sample>, phase: string, measure: Measure): Range | undefined => {
  const values = samples.filter((s) => s.phase === phase).map((s) => s[measure])
  return values.length === 0 ? undefined : { min: Math.min(...values), max: Math.max(...values), last: values[values.length - 1]! }
}
