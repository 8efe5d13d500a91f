// The call loops of a Promise-based client (connect-node's, grpc-js's).
import type { Counts, Phase } from "../client-load.js"

/** A Phase of `concurrency` loops calling `call` back to back, each rejection counted as a failure. */
export const promiseLoops = (call: () => Promise<unknown>): Phase => async (concurrency, until) => {
  const counts: Counts = { calls: 0, failures: 0 }
  const loop = async () => {
    while (Date.now() < until) {
      try {
        await call()
        counts.calls++
      } catch {
        counts.failures++
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  return counts
}
