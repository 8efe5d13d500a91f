// Compiles the library and the plugin into dist/, from nothing: a file left there by an earlier
// build of a source since removed would otherwise ship in the package. The library's generated
// code (src/gen) is made first: npm pack runs this before npm's prepare script generates it.
import { execFileSync } from "node:child_process"
import { rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
rmSync(join(root, "dist"), { recursive: true, force: true })
execFileSync(process.execPath, [join(root, "scripts", "generate.mjs"), "src"], { cwd: root, stdio: "inherit" })
execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" })
