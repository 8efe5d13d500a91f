/**
 * Helpers of the protoc-gen-connect-effect tests: run buf (and protoc) with the plugin, list outputs.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root folder. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

/** An executable of the repository's node_modules/.bin. */
export const binOf = (name: string): string => join(repoRoot, "node_modules", ".bin", name)

/** The plugin run from its TypeScript source, as buf's `local` takes it. */
export const pluginFromSource: readonly [string, ...Array<string>] = [binOf("tsx"), join(repoRoot, "codegen", "src", "protoc-gen-connect-effect.ts")]

/** The proto folders the tests generate code for. */
export const protoDirs = {
  cases: join(repoRoot, "test", "codegen", "proto"),
  eliza: join(repoRoot, "examples", "eliza", "proto")
} as const

/** A new empty folder under the system's temporary folder. */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `connect-effect-${prefix}-`))

/** One plugin entry of a buf.gen.yaml: a command and its options. */
export interface PluginRun {
  readonly command: ReadonlyArray<string>
  readonly options: ReadonlyArray<string>
}

/**
 * Runs `buf generate` over `inputs` into `out` with the given plugins, from a buf.gen.yaml written in
 * a temporary folder.
 */
export const bufGenerate = (inputs: ReadonlyArray<string>, out: string, plugins: ReadonlyArray<PluginRun>): void => {
  const dir = tempDir("buf")
  const yaml = [
    "version: v2",
    "inputs:",
    ...inputs.map((input) => `  - directory: ${JSON.stringify(input)}`),
    "plugins:",
    ...plugins.flatMap((plugin) => [
      `  - local: ${JSON.stringify(plugin.command)}`,
      `    out: ${JSON.stringify(out)}`,
      `    opt: ${JSON.stringify(plugin.options)}`
    ])
  ].join("\n")
  writeFileSync(join(dir, "buf.gen.yaml"), yaml)
  try {
    execFileSync(binOf("buf"), ["generate"], { cwd: dir, stdio: ["ignore", "inherit", "inherit"] })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** protoc-gen-es, as buf's `local` takes it. */
export const protocGenEs: ReadonlyArray<string> = [binOf("protoc-gen-es")]

/** Every file under `dir`, as paths relative to it with `/` separators, sorted. */
export const listFiles = (dir: string): ReadonlyArray<string> => {
  const walk = (current: string): ReadonlyArray<string> =>
    readdirSync(current).flatMap((name) => {
      const path = join(current, name)
      return statSync(path).isDirectory() ? walk(path) : [relative(dir, path).split("\\").join("/")]
    })
  return [...walk(dir)].sort()
}
