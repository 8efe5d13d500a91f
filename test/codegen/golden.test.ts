/**
 * Golden files of protoc-gen-connect-effect: the code generated for the test protos and the Eliza
 * example, for `target=ts` and `target=js+dts`, must equal test/codegen/golden/. Run with
 * UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { bufGenerate, listFiles, pluginFromSource, protoDirs, repoRoot, tempDir } from "./support.js"

const goldenRoot = join(repoRoot, "test", "codegen", "golden")
const update = process.env["UPDATE_GOLDEN"] === "1"

const variants = {
  ts: ["target=ts", "import_extension=js"],
  "js+dts": ["target=js+dts", "import_extension=js"]
} as const

const generated = new Map<ReadonlyArray<string>, ReadonlyMap<string, string>>()

/** The files generated for `options`, keyed by path; generated once per run. */
const generate = (options: ReadonlyArray<string>): ReadonlyMap<string, string> => {
  const done = generated.get(options)
  if (done !== undefined) return done
  const out = tempDir("golden")
  bufGenerate([protoDirs.cases, protoDirs.eliza], out, [{ command: pluginFromSource, options }])
  const files = new Map(listFiles(out).map((file) => [file, readFileSync(join(out, file), "utf8")]))
  rmSync(out, { recursive: true, force: true })
  generated.set(options, files)
  return files
}

describe("protoc-gen-connect-effect golden files", () => {
  for (const [variant, options] of Object.entries(variants)) {
    it(`target ${variant}`, () => {
      const files = generate(options)
      const dir = join(goldenRoot, variant)
      if (update) {
        rmSync(dir, { recursive: true, force: true })
        for (const [file, content] of files) {
          mkdirSync(dirname(join(dir, file)), { recursive: true })
          writeFileSync(join(dir, `${file}.golden`), content)
        }
      }
      expect(listFiles(dir)).toEqual([...files.keys()].map((file) => `${file}.golden`))
      for (const [file, content] of files) {
        expect(content, file).toBe(readFileSync(join(dir, `${file}.golden`), "utf8"))
      }
    }, 60_000)
  }

  it("has no `any` in what it generates", () => {
    for (const options of Object.values(variants)) {
      for (const [file, content] of generate(options)) {
        expect(content.replace(/\/\*\*[\s\S]*?\*\//g, ""), file).not.toMatch(/\bany\b/)
      }
    }
  }, 60_000)

  it("generates no file for a proto file without services", () => {
    expect([...generate(variants.ts).keys()].filter((file) => file.includes("messages_only"))).toEqual([])
  }, 60_000)
})
