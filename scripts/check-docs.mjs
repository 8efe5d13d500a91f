// Type-checks every ```ts block of README.md and docs/*.md. Each block is a module of its
// own, written as if it sat beside the Eliza example's generated code (`./gen/...`).
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const outDir = join(root, "examples", "eliza")
const prefix = "doccheck_"

for (const name of readdirSync(outDir)) {
  if (name.startsWith(prefix)) rmSync(join(outDir, name))
}

const sources = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]
const files = []
for (const source of sources) {
  const text = readFileSync(join(root, source), "utf8")
  const blocks = [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)]
  blocks.forEach((block, i) => {
    const file = join(outDir, `${prefix}${source.replace(/[/.]/g, "_")}_${i + 1}.ts`)
    writeFileSync(file, `// from ${source}, block ${i + 1}\nexport {}\n${block[1]}`)
    files.push(file)
  })
}

const tsconfig = join(outDir, `${prefix}tsconfig.json`)
writeFileSync(tsconfig, JSON.stringify({
  extends: "../../tsconfig.base.json",
  compilerOptions: { noEmit: true },
  files
}))
try {
  execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", tsconfig], { stdio: "inherit" })
  console.log(`docs: ${files.length} code blocks from ${sources.length} files type-check`)
} catch {
  console.error("docs: code blocks do not type-check (see above)")
  process.exitCode = 1
}
