// Runs the Connect conformance suite (connectrpc.com/conformance) against connect-effect.
//
//   node conformance/run.mjs [all|client|server|generate] [runner flags...]
//
// Installs the runner with `go install` into .conformance/bin (once), generates the
// conformance protos into conformance/gen (again only when a generator changed), then runs the
// client-under-test (once per client transport) and/or the server-under-test. Runner flags such as
// `--run <pattern> -v --trace` are passed through. Exits non-zero if any mode fails.
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { clearTimeout, setTimeout } from "node:timers"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as zlib from "node:zlib"

const version = "v1.0.5"
const module = "connectrpc.com/conformance"
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..")
const bin = join(root, ".conformance", "bin")
const runner = join(bin, "connectconformance")

const go = (args, options = {}) => execFileSync("go", args, { encoding: "utf8", ...options })

/** Installs the runner unless the installed one is already this version. */
const installRunner = () => {
  if (existsSync(runner) && execFileSync(runner, ["--version"], { encoding: "utf8" }).includes(version)) return
  mkdirSync(bin, { recursive: true })
  console.error(`installing connectconformance ${version} into ${bin}`)
  go(["install", `${module}/cmd/connectconformance@${version}`], { env: { ...process.env, GOBIN: bin }, stdio: "inherit" })
}

const gen = join(here, "gen")
const stamp = join(gen, ".stamp")

/** What the generated code depends on besides the protos, which are fixed by `version`. */
const generators = () => [
  join(here, "buf.gen.yaml"),
  fileURLToPath(import.meta.url),
  join(root, "node_modules", "@bufbuild", "protoc-gen-es", "package.json"),
  ...readdirSync(join(root, "codegen", "src"), { recursive: true }).map((f) => join(root, "codegen", "src", String(f)))
]

const upToDate = () => {
  if (!existsSync(stamp)) return false
  const generated = statSync(stamp).mtimeMs
  return generators().every((f) => statSync(f).mtimeMs <= generated)
}

/**
 * Generates TypeScript for the conformance protos of the runner's module version into
 * conformance/gen: messages (protoc-gen-es) and the Effect service code (our plugin).
 */
const generate = () => {
  if (upToDate()) return
  const { Dir } = JSON.parse(go(["mod", "download", "-json", `${module}@${version}`]))
  rmSync(gen, { recursive: true, force: true })
  execFileSync(join(root, "node_modules", ".bin", "buf"), ["generate", join(Dir, "proto"), "--template", "buf.gen.yaml"], {
    cwd: here,
    stdio: "inherit"
  })
  writeFileSync(stamp, `${module}@${version}\n`)
}

/**
 * config.yaml, with zstd among the compressions where this Node has it (22.15 on): the programs
 * under test run on this same Node.
 */
const config = () => {
  const base = join(here, "config.yaml")
  if (!("zstdCompress" in zlib)) return base
  const withZstd = join(root, ".conformance", "config.yaml")
  const text = readFileSync(base, "utf8").replace("    - COMPRESSION_BR\n", "    - COMPRESSION_BR\n    - COMPRESSION_ZSTD\n")
  if (!text.includes("COMPRESSION_ZSTD")) throw new Error("config.yaml: no COMPRESSION_BR line to add zstd after")
  mkdirSync(dirname(withZstd), { recursive: true })
  writeFileSync(withZstd, text)
  return withZstd
}

const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href
const program = (file) => [process.execPath, "--conditions=connect-effect-source", `--import=${tsx}`, join(here, file)]

/**
 * How long one mode may take. The server mode's 7,268 cases took 6 minutes on a 2-core machine
 * (most of it the runner's own CPU); a server that leaves a request unanswered can deadlock the
 * runner itself, so a hung run is ended rather than waited on.
 */
const modeTimeoutMs = 15 * 60 * 1000

/** The process group of the running runner (it and the programs under test), ended on timeout or signal. */
let running

const endRunning = () => {
  if (running !== undefined) process.kill(-running.pid, "SIGKILL")
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    endRunning()
    process.exit(1)
  })
}

/**
 * The runs of each command: the client-under-test once per client transport (the HTTP/1.1 ones
 * with the HTTP/1.1 cases, node:http2 with the HTTP/2 ones; the runner only asks for gRPC over
 * HTTP/2), the server-under-test once.
 */
const runsOf = {
  client: [
    // The "gRPC Trailers" suite is HTTP/2 only, and its names say no HTTP version.
    { name: "client (HttpClient)", mode: "client", args: ["--transport", "httpclient"], skip: ["**/HTTPVersion:2/**", "gRPC Trailers/**"] },
    { name: "client (undici)", mode: "client", args: ["--transport", "undici"], skip: ["**/HTTPVersion:2/**", "gRPC Trailers/**"] },
    { name: "client (http2)", mode: "client", args: ["--transport", "http2"], skip: "**/HTTPVersion:1/**" }
  ],
  server: [{ name: "server", mode: "server", args: [] }]
}

/** Runs the runner in one mode, echoing its output; resolves to its exit code and totals line. */
const runMode = ({ name, mode, args: programArgs, skip }, flags) =>
  new Promise((resolve) => {
    const only = [skip ?? []].flat().flatMap((pattern) => ["--skip", pattern])
    const args = ["--mode", mode, "--conf", config(), ...only, ...flags, "--", ...program(`${mode}.ts`), ...programArgs]
    const child = spawn(runner, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"], detached: true })
    running = child
    let output = ""
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      console.error(`conformance ${name}: no result after ${modeTimeoutMs / 1000} s, ending the runner`)
      endRunning()
    }, modeTimeoutMs)
    child.stdout.on("data", (chunk) => {
      output += chunk
      process.stdout.write(chunk)
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      running = undefined
      const totals = timedOut
        ? "timed out"
        : /Total cases: \d+\n.*/.exec(output)?.[0].replace("\n", ", ") ?? "no totals printed"
      resolve({ name, code: code ?? 1, totals })
    })
  })

const [command = "all", ...flags] = process.argv.slice(2)
const runs = { all: [...runsOf.client, ...runsOf.server], client: runsOf.client, server: runsOf.server, generate: [] }[command]
if (runs === undefined) {
  console.error(`unknown command ${command}: expected all, client, server or generate`)
  process.exit(2)
}
if (runs.length > 0) installRunner()
generate()
const results = []
for (const run of runs) results.push(await runMode(run, flags))
for (const { name, code, totals } of results) console.log(`conformance ${name}: ${totals} (exit ${code})`)
process.exitCode = results.some((r) => r.code !== 0) ? 1 : 0
