/**
 * `npm run demo:web` as a person would use it, in headless Chromium: the page (served from one
 * origin) chats with Eliza (on another, through CORS), watches Introduce's sentences arrive one
 * by one, and shows a server error. A screenshot is left in test-artifacts/.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { introduction } from "../examples/eliza/eliza.js"
import { browserPage, browserTests, screenshot } from "./support/chromium.js"

/** Starts `npm run demo:web` on free ports, stopped with the Scope: the URLs it prints. */
const demoWeb = Effect.acquireRelease(
  Effect.sync(() =>
    spawn("npm", ["run", "--silent", "demo:web", "--", "--port", "0", "--api-port", "0"], {
      cwd: join(import.meta.dirname, ".."),
      // A process group of its own, so that npm and node stop together.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"]
    })
  ),
  (child) => Effect.sync(() => child.exitCode === null && process.kill(-child.pid!, "SIGTERM"))
).pipe(Effect.flatMap((child) =>
  Effect.async<{ readonly page: string; readonly api: string }, Error>((resume) => {
    let out = ""
    child.stderr!.on("data", (chunk: Buffer) => out += chunk)
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk
      const page = /chat page: (\S+)/.exec(out)?.[1]
      const api = /API: (\S+)/.exec(out)?.[1]
      if (page !== undefined && api !== undefined) resume(Effect.succeed({ page, api }))
    })
    child.on("exit", (code) => resume(Effect.fail(new Error(`demo:web exited with ${code}:\n${out}`))))
  })
))

describe.runIf(browserTests)("npm run demo:web", () => {
  it.live("a page on one origin chats with Eliza on another, Introduce streams in, and errors show", () =>
    Effect.gen(function*() {
      const urls = yield* demoWeb
      expect(new URL(urls.page).origin).not.toBe(new URL(urls.api).origin)
      const { page, errors } = yield* browserPage()
      const corsAnswers: Array<string | undefined> = []
      page.on("response", (response) => {
        if (response.url().startsWith(urls.api)) corsAnswers.push(response.headers()["access-control-allow-origin"])
      })
      const run = <A>(f: () => Promise<A>) => Effect.promise(f)
      const elizaSays = page.locator(".message.eliza")

      yield* run(() => page.goto(urls.page))
      // The inputs are enabled by the page's script: it loaded and runs.
      yield* run(() => page.locator("#sentence:enabled").waitFor())
      expect(yield* run(() => page.locator("#api").textContent())).toBe(urls.api)

      yield* run(() => page.fill("#sentence", "I feel tired today"))
      yield* run(() => page.click("#say button"))
      yield* run(() => elizaSays.first().waitFor())
      expect(yield* run(() => elizaSays.first().textContent())).toBe("ElizaDo you often feel tired today?")

      // The server pauses between Introduce's sentences: the first shows before the last is sent.
      yield* run(() => page.fill("#name", "Ada"))
      yield* run(() => page.click("#introduce button"))
      yield* run(() => elizaSays.nth(1).waitFor())
      expect(yield* run(() => elizaSays.count())).toBeLessThan(6)
      yield* run(() => elizaSays.nth(5).waitFor())
      const said = yield* run(() => elizaSays.allTextContents())
      expect(said.slice(1).map((text) => text.replace(/^Eliza/, ""))).toEqual(introduction("Ada"))

      yield* run(() => page.click("#say button"))
      yield* run(() => page.locator(".message.error").waitFor())
      expect(yield* run(() => page.locator(".message.error").textContent())).toBe(
        "Errorinvalid_argument: say something: the sentence is empty"
      )
      // The error answer was readable across origins too; Chromium logs its 400 status.
      expect(errors.filter((e) => !/status of 400/.test(e))).toEqual([])
      expect(corsAnswers.length).toBeGreaterThanOrEqual(3)
      expect(new Set(corsAnswers)).toEqual(new Set([new URL(urls.page).origin]))

      yield* run(() => page.fill("#sentence", "Goodbye, Eliza"))
      yield* screenshot(page, "demo-web")
    }).pipe(Effect.scoped), 90_000)
})
