/**
 * What the router needs of a protocol: whether a request speaks it, and how to serve a call of
 * it. Connect is one; gRPC and gRPC-Web plug in beside it without touching the router.
 * @internal
 */
import type { DescMethod } from "@bufbuild/protobuf"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Compression } from "../compression.js"
import type { ConnectError } from "../connectError.js"
import type { MethodImplementation } from "./service.js"
import type { ServerRequest, ServerResponse } from "../http.js"

/** How the server treats messages and calls, whatever protocol carries them. @internal */
export interface ServerConfig {
  readonly readMaxBytes: number
  readonly writeMaxBytes: number
  readonly compressMinBytes: number
  readonly acceptCompression: ReadonlyArray<Compression>
  /** How long a request body may stop arriving (see `requestStream`); none when undefined. */
  readonly readIdleTimeoutMs?: number | undefined
  /** The longest a handler may run, whatever the client's timeout (see `callDeadline`); none when undefined. */
  readonly handlerTimeoutMs?: number | undefined
  /** Completes when the server begins to shut down: `HandlerContext.shuttingDown`. */
  readonly shuttingDown?: Effect.Effect<void> | undefined
}

/** @internal */
export interface ServerProtocol {
  /** Whether `request` speaks this protocol (its content type, and for Connect GET, its method). */
  readonly accepts: (request: ServerRequest) => boolean
  /** Serves one call of `impl`; `scope` is the call's (see `ServerHandler`). */
  readonly serve: (
    impl: MethodImplementation,
    request: ServerRequest,
    config: ServerConfig,
    scope: Scope.Scope
  ) => Effect.Effect<ServerResponse>
  /** The answer to a path that names no method, in this protocol's terms. */
  readonly notFound: (request: ServerRequest) => ServerResponse
  /** The answer to a call of `method` refused before its body was read (by the request gate). */
  readonly reject: (request: ServerRequest, method: DescMethod, error: ConnectError) => ServerResponse
}
