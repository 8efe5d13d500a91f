/**
 * `npm run demo:client -- --base-url URL`: runs Say, Introduce, Pontificate and Converse
 * against any Eliza server, printing each answer; exits non-zero on failure.
 */
import * as Effect from "effect/Effect"
import { flag } from "./args.js"
import { talkTo } from "./conversation.js"

const baseUrl = flag("base-url") ?? "http://127.0.0.1:8080"

Effect.runPromiseExit(talkTo(baseUrl).pipe(
  Effect.catchTag("ConnectError", (e) => Effect.fail(`Eliza at ${baseUrl} failed: [${e.code}] ${e.message}`))
)).then((exit) => {
  if (exit._tag === "Failure") {
    console.error(exit.cause._tag === "Fail" ? exit.cause.error : String(exit.cause))
    process.exitCode = 1
  }
})
