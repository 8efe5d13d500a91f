/**
 * The command-line flags of the examples: `--name value` or `--name=value`, each known flag a
 * string; an unknown flag or a missing value exits with a usage message.
 */
import { parseArgs } from "node:util"

export const parseFlags = <const Names extends ReadonlyArray<string>>(
  usage: string,
  names: Names
): { readonly [K in Names[number]]?: string } => {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: Object.fromEntries(names.map((name) => [name, { type: "string" as const }])),
      strict: true,
      allowPositionals: false
    })
    return values as { readonly [K in Names[number]]?: string }
  } catch (e) {
    console.error(`${(e as Error).message}\nusage: ${usage}`)
    process.exit(2)
  }
}
