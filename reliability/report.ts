/**
 * What the reliability commands' Markdown reports share: a spread of durations.
 */

const seconds = (ms: number) => (ms / 1000).toFixed(1)

/** Durations in ms as seconds, least / median / most ("–" for none). */
export const spread = (values: ReadonlyArray<number>) => {
  if (values.length === 0) return "–"
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return `${seconds(sorted[0]!)} / ${seconds(at(0.5))} / ${seconds(sorted[sorted.length - 1]!)}`
}
