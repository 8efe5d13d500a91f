// Collects per-round measurements and prints the Markdown table (medians) with ratios and targets.
import type { ServerImpl } from "./processes.js"

interface Row {
  readonly metric: string
  /** Every round's value, per server implementation. */
  readonly values: Map<ServerImpl, Array<number>>
  readonly digits: number
  /** Whether ratios between implementations mean something (not for a growth in %). */
  readonly ratios: boolean
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export class Report {
  private readonly rows: Array<Row> = []

  add(metric: string, impl: ServerImpl, value: number, digits = 0, ratios = true): void {
    let row = this.rows.find((r) => r.metric === metric)
    if (row === undefined) {
      row = { metric, values: new Map(), digits, ratios }
      this.rows.push(row)
    }
    row.values.set(impl, [...(row.values.get(impl) ?? []), value])
  }

  median(metric: string, impl: ServerImpl): number | undefined {
    const values = this.values(metric, impl)
    return values === undefined ? undefined : median(values)
  }

  /**
   * The median over rounds of the per-round ratio `impl / base`: both were measured minutes
   * apart at most, so a change in the machine's background load cancels out better than in
   * a ratio of medians.
   */
  ratio(metric: string, impl: ServerImpl, base: ServerImpl): number | undefined {
    const a = this.values(metric, impl)
    const b = this.values(metric, base)
    if (a === undefined || b === undefined || a.length !== b.length) return undefined
    return median(a.map((x, i) => x / b[i]!))
  }

  /** Every round's value. */
  values(metric: string, impl: ServerImpl): ReadonlyArray<number> | undefined {
    return this.rows.find((r) => r.metric === metric)?.values.get(impl)
  }

  table(): string {
    const cell = (n: number | undefined, digits: number) =>
      n === undefined ? "—" : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    const order: ReadonlyArray<ServerImpl> = ["connect-effect", "connect-effect-platform", "connect-node", "grpc-js", "raw"]
    // The @effect/platform path and grpc-js (gRPC rows only) get a column, and their ratio, only
    // when they were measured.
    const measured = (impl: ServerImpl) => this.rows.some((r) => r.values.has(impl))
    const platform = measured("connect-effect-platform")
    const grpcJs = measured("grpc-js")
    const columns = order.filter((impl) => (impl !== "connect-effect-platform" || platform) && (impl !== "grpc-js" || grpcJs))
    const ratios: ReadonlyArray<readonly [ServerImpl, ServerImpl, string]> = [
      ["connect-effect", "connect-node", "effect / node ¹"],
      ...(platform ? [["connect-effect-platform", "connect-node", "platform / node ¹"] as const] : []),
      ...(grpcJs ? [["connect-effect", "grpc-js", "effect / grpc-js ¹"] as const] : []),
      ["connect-effect", "raw", "effect / raw ¹"]
    ]
    const lines = [
      `| metric (median of rounds) | ${columns.join(" | ")} | ${ratios.map(([, , label]) => label).join(" | ")} |`,
      `| --- |${" ---: |".repeat(columns.length + ratios.length)}`
    ]
    for (const row of this.rows) {
      const m = (impl: ServerImpl) => cell(this.median(row.metric, impl), row.digits)
      const r = ([impl, base]: readonly [ServerImpl, ServerImpl, string]) =>
        row.ratios ? cell(this.ratio(row.metric, impl, base), 2) : "—"
      lines.push(`| ${row.metric} | ${columns.map(m).join(" | ")} | ${ratios.map(r).join(" | ")} |`)
    }
    lines.push("", "¹ median of the per-round ratios")
    return lines.join("\n")
  }
}
