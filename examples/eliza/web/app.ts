/**
 * The Eliza chat page's script, bundled for browsers by `npm run demo:web` as it starts: the
 * generated Eliza client on `ConnectTransport.layer` over fetch, calling the API named in the
 * page's `eliza-api` meta tag, on another origin (its server answers CORS for this page).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { type ConnectError, ConnectTransport } from "connect-effect"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { ElizaServiceClient } from "../gen/connectrpc/eliza/v1/eliza_connect_effect.js"

const element = <E extends Element>(selector: string): E => document.querySelector<E>(selector)!

const log = element<HTMLElement>("#log")

const runtime = ManagedRuntime.make(
  ElizaServiceClient.layer.pipe(
    Layer.provide(ConnectTransport.layer({ baseUrl: element<HTMLMetaElement>(`meta[name="eliza-api"]`).content })),
    Layer.provide(FetchHttpClient.layer)
  )
)

const post = (who: "you" | "eliza" | "error", text: string) => {
  const message = document.createElement("div")
  message.className = `message ${who}`
  const label = document.createElement("span")
  label.className = "who"
  label.textContent = who === "you" ? "You" : who === "eliza" ? "Eliza" : "Error"
  // Appended as text: what anyone typed, and Eliza's echo of it, is never markup.
  message.append(label, text)
  log.append(message)
  log.scrollTop = log.scrollHeight
}

/** Runs `call` with what was typed into `form`, its controls disabled until the call is over. */
const onSubmit = (
  form: HTMLFormElement,
  call: (value: string) => Effect.Effect<void, ConnectError.ConnectError, ElizaServiceClient>
) => {
  const input = form.querySelector("input")!
  const controls = form.querySelectorAll<HTMLInputElement | HTMLButtonElement>("input, button")
  const enable = (on: boolean) => controls.forEach((control) => control.disabled = !on)
  form.addEventListener("submit", (event) => {
    event.preventDefault()
    const value = input.value
    input.value = ""
    enable(false)
    runtime.runPromise(call(value).pipe(
      Effect.catchTag("ConnectError", (e) => Effect.sync(() => post("error", `${e.code}: ${e.message}`))),
      Effect.ensuring(Effect.sync(() => {
        enable(true)
        input.focus()
      }))
    )).catch((defect) => post("error", String(defect)))
  })
  enable(true)
}

onSubmit(element("#say"), (sentence) =>
  Effect.gen(function*() {
    post("you", sentence === "" ? "…" : sentence)
    const eliza = yield* ElizaServiceClient
    const answer = yield* eliza.say({ sentence })
    post("eliza", answer.sentence)
  }))

onSubmit(element("#introduce"), (name) =>
  Effect.gen(function*() {
    post("you", `I'm ${name === "" ? "…" : name}.`)
    const eliza = yield* ElizaServiceClient
    yield* eliza.introduce({ name }).pipe(Stream.runForEach((answer) => Effect.sync(() => post("eliza", answer.sentence))))
  }))

element<HTMLInputElement>("#sentence").focus()
