// Writes the API reference, docs/api/, from the TSDoc of both entries (typedoc.json), failing on
// any warning, such as an undocumented export. With --check it writes nothing and fails unless
// docs/api/ is what the sources give (CI runs it through `npm run docs:check`).
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const committed = join(root, "docs", "api")
const check = process.argv.includes("--check")
const out = check ? mkdtempSync(join(tmpdir(), "connect-effect-api-")) : committed

const typedoc = (args) => execFileSync(join(root, "node_modules", ".bin", "typedoc"), args, { cwd: root, stdio: "inherit" })

/** Every file under `dir`, relative to it. */
const files = (dir) => existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
  .sort() : []

try {
  if (!check) rmSync(committed, { recursive: true, force: true })
  typedoc(["--out", out, "--logLevel", "Warn"])
  if (check) {
    const stale = [...new Set([...files(out), ...files(committed)])].filter((file) =>
      !existsSync(join(out, file)) || !existsSync(join(committed, file)) ||
      !readFileSync(join(out, file)).equals(readFileSync(join(committed, file)))
    )
    if (stale.length > 0) {
      console.error(`docs/api is not what the sources' TSDoc gives (${stale.join(", ")}): run npm run docs:api`)
      process.exitCode = 1
    } else {
      console.log(`docs/api: ${files(out).length} pages, every export documented, up to date`)
    }
  } else {
    console.log(`docs/api: ${files(out).length} pages written`)
  }
} catch {
  console.error("docs/api: typedoc failed or warned (see above)")
  process.exitCode = 1
} finally {
  if (check) rmSync(out, { recursive: true, force: true })
}
