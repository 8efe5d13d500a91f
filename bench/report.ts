// Collects per-round measurements and prints the Markdown table (medians) with ratios and targets.
import type { ServerImpl } from "./processes.js"

export interface Row {
  readonly metric: string
  /** Every round's value, per server implementation. */
  readonly values: Map<ServerImpl, Array<number>>
  readonly digits: number
}

export class Report {
  readonly rows: Array<Row> = []

  add(metric: string, impl: ServerImpl, value: number, digits = 0): void {
    let row = this.rows.find((r) => r.metric === metric)
    if (row === undefined) {
      row = { metric, values: new Map(), digits }
      this.rows.push(row)
    }
    row.values.set(impl, [...(row.values.get(impl) ?? []), value])
  }

  median(metric: string, impl: ServerImpl): number | undefined {
    const values = this.rows.find((r) => r.metric === metric)?.values.get(impl)
    if (values === undefined) return undefined
    const sorted = [...values].sort((a, b) => a - b)
    const mid = sorted.length >> 1
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2
  }

  ratio(metric: string, impl: ServerImpl, base: ServerImpl): number | undefined {
    const a = this.median(metric, impl)
    const b = this.median(metric, base)
    return a === undefined || b === undefined || b === 0 ? undefined : a / b
  }

  table(): string {
    const cell = (n: number | undefined, digits: number) =>
      n === undefined ? "—" : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    const lines = [
      "| metric (median of rounds) | connect-effect | connect-node | raw | effect / node | effect / raw |",
      "| --- | ---: | ---: | ---: | ---: | ---: |"
    ]
    for (const row of this.rows) {
      const m = (impl: ServerImpl) => cell(this.median(row.metric, impl), row.digits)
      const r = (base: ServerImpl) => cell(this.ratio(row.metric, "connect-effect", base), 2)
      lines.push(
        `| ${row.metric} | ${m("connect-effect")} | ${m("connect-node")} | ${m("raw")} | ${r("connect-node")} | ${
          r("raw")
        } |`
      )
    }
    return lines.join("\n")
  }
}
