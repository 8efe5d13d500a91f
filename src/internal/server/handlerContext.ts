/**
 * The HandlerContext of one call; response headers and trailers are created on first use.
 * @internal
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf"
import type * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { HandlerContext, PeerCertificate } from "./service.js"
import type { Deadline } from "../deadline.js"
import type { Connection } from "../http.js"

/** @internal */
export class HandlerContextImpl implements HandlerContext {
  private headers: globalThis.Headers | undefined
  private trailers: globalThis.Headers | undefined
  readonly deadline: Option.Option<number>

  constructor(
    readonly method: DescMethod,
    readonly requestHeaders: Headers.Headers,
    deadline: Deadline | undefined,
    private readonly connection: Connection,
    shuttingDown: Effect.Effect<void> | undefined
  ) {
    this.deadline = deadline === undefined ? Option.none() : Option.some(deadline.at)
    this.shuttingDown = shuttingDown ?? Effect.never
  }

  readonly shuttingDown: Effect.Effect<void>

  get httpVersion(): "1.1" | "2" {
    return this.connection.httpVersion
  }

  get peerCertificate(): Option.Option<PeerCertificate> {
    return Option.fromNullable(this.connection.peerCertificate())
  }

  get service(): DescService {
    return this.method.parent
  }

  get responseHeaders(): globalThis.Headers {
    return this.headers ??= new globalThis.Headers()
  }

  get responseTrailers(): globalThis.Headers {
    return this.trailers ??= new globalThis.Headers()
  }

  /** Whether the handler set any response header. */
  get hasHeaders(): boolean {
    if (this.headers === undefined) return false
    for (const _ of this.headers.keys()) return true
    return false
  }

  /** Copies the response headers set by the handler into `target`, with an optional name prefix. */
  writeHeaders(target: Record<string, string>): void {
    this.headers?.forEach((value, name) => target[name] = value)
  }

  writeTrailers(target: Record<string, string>, prefix: string): void {
    this.trailers?.forEach((value, name) => target[prefix + name] = value)
  }
}
