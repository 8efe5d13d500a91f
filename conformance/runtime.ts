/**
 * How the programs under test run: stdout carries only the runner's frames, so every log
 * line goes to stderr.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"

const logToStderr = Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true }))

/** Runs a program until it ends or the process gets SIGINT/SIGTERM, logging to stderr. */
export const runMain = <E>(program: Effect.Effect<void, E>): void =>
  NodeRuntime.runMain(Effect.provide(program, logToStderr), { disablePrettyLogger: true })
