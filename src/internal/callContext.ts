/**
 * What a Layer's builder had in its context, as the calls it serves get it: less the builder's
 * Scope (what a handler or hook acquires belongs to its call, or to the fiber running it) and
 * its memo map (only building needed it). A context with nothing else left is not provided at
 * all: providing one costs each call a context diff and two fiber-ref updates, a twentieth of a
 * small call's CPU.
 * @internal
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"

/** @internal */
export const callContext = <R>(built: Context.Context<R>): Context.Context<R> =>
  Context.omit(Scope.Scope, Layer.CurrentMemoMap)(built) as Context.Context<R>
