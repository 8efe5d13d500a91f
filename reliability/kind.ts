/**
 * A kind of hostile input: how to generate it, what it needs around it, how to send it and
 * judge what came back. The campaign runs every kind the same way.
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type fc from "fast-check"
import type { Judgement } from "./oracles.js"

/** The server under attack (server-side kinds), or behind the chaos proxy. */
export interface Target {
  readonly url: string
  readonly port: number
}

export interface Kind<I, Env> {
  readonly name: string
  /** One line: what the inputs are and what a pass means. */
  readonly about: string
  readonly inputs: fc.Arbitrary<I>
  /**
   * Its part of a fuzz run's inputs, relative to the other kinds': about inversely to what an
   * input costs (a chaos call builds a client and waits out stalls; an HTTP/1.1 request is a
   * socket and a few writes).
   */
  readonly share: number
  /** Inputs in flight at once, when not the campaign's. */
  readonly concurrency?: number
  /** What the inputs are sent with (hostile servers, clients), for as long as the Scope lives. */
  readonly environment: (target: Target) => Effect.Effect<Env, never, Scope.Scope>
  /** Sends one input and judges the result; a kind bounds its own waiting (`hang` outcome). */
  readonly run: (env: Env, input: I) => Effect.Effect<Judgement>
  /** The input, briefly, to report with a problem. */
  readonly show: (input: I) => string
}

export type AnyKind = Kind<any, any>

/** The outcome of an input that was not answered or closed within its bounds. */
export const hang = (what: string): Judgement => ({ outcome: "hang", problem: what })
