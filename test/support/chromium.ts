/**
 * Headless Chromium for the browser tests: the system's (Debian's `chromium`, which .ci/run
 * installs; `CHROMIUM_PATH` names another), driven by playwright-core, which downloads nothing.
 * Without one the browser tests are skipped, except in CI, where a missing browser fails them.
 */
import * as Effect from "effect/Effect"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { chromium, type Page } from "playwright-core"

const executablePath = process.env.CHROMIUM_PATH ??
  ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find(existsSync)

/** Whether to run the browser tests here. */
export const browserTests = executablePath !== undefined || process.env.CI !== undefined

/** Where the browser tests leave their screenshots (gitignored). */
export const artifacts = join(import.meta.dirname, "..", "..", "test-artifacts")

export interface BrowserPage {
  readonly page: Page
  /** What the page logged as errors, and its uncaught exceptions, so far. */
  readonly errors: ReadonlyArray<string>
}

/** A fresh page in a headless Chromium (started with `args`) that closes with the Scope. */
export const browserPage = (args: ReadonlyArray<string> = []) => Effect.gen(function*() {
  if (executablePath === undefined) {
    return yield* Effect.dieMessage("no Chromium: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH")
  }
  const browser = yield* Effect.acquireRelease(
    Effect.promise(() =>
      // Root (as in CI) cannot use Chromium's sandbox.
      chromium.launch({ executablePath, args: [...args, ...process.getuid?.() === 0 ? ["--no-sandbox"] : []] })
    ),
    (browser) => Effect.promise(() => browser.close())
  )
  const page = yield* Effect.promise(() => browser.newPage({ viewport: { width: 960, height: 1100 } }))
  const errors: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text())
  })
  page.on("pageerror", (error) => errors.push(String(error)))
  return { page, errors } satisfies BrowserPage
})

/** Saves a screenshot of `page` as test-artifacts/`name`.png, returning its path. */
export const screenshot = (page: Page, name: string) =>
  Effect.promise(async () => {
    mkdirSync(artifacts, { recursive: true })
    const path = join(artifacts, `${name}.png`)
    await page.screenshot({ path, fullPage: true })
    return path
  })
