// Regenerates every protoc-gen-es / protoc-gen-connect-effect output of the repository, or of the
// folders given.
// Generated code is never committed: it is built here, at install and test time.
import { execFileSync } from "node:child_process"
import { rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const buf = join(root, "node_modules", ".bin", "buf")
// src: the gRPC health and reflection messages the package itself ships (from proto/). Given
// folders as arguments, only those (the build generates src alone).
const all = ["src", "examples/eliza", "test", "test/codegen"]
const targets = process.argv.length > 2 ? process.argv.slice(2) : all

for (const target of targets) {
  const dir = join(root, target)
  rmSync(join(dir, "gen"), { recursive: true, force: true })
  execFileSync(buf, ["generate"], { cwd: dir, stdio: "inherit" })
}
