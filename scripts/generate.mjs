// Regenerates every protoc-gen-es / protoc-gen-connect-effect output of the repository.
// Generated code is never committed: it is built here, at install and test time.
import { execFileSync } from "node:child_process"
import { rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const buf = join(root, "node_modules", ".bin", "buf")
// src: the gRPC health and reflection messages the package itself ships (from proto/).
const targets = ["src", "examples/eliza", "test", "test/codegen"]

for (const target of targets) {
  const dir = join(root, target)
  rmSync(join(dir, "gen"), { recursive: true, force: true })
  execFileSync(buf, ["generate"], { cwd: dir, stdio: "inherit" })
}
