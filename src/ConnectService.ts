/**
 * Service implementations: a record of handlers, one per method, provided as a Layer.
 * Unary and client-streaming handlers return an Effect, server-streaming and bidi handlers
 * return a Stream; handlers may require services, which the Layer requires in turn.
 *
 * @since 0.1.0
 */
import type {
  DescMessage,
  DescMethodBiDiStreaming,
  DescMethodClientStreaming,
  DescMethodServerStreaming,
  DescMethodUnary,
  DescService,
  MessageInitShape,
  MessageShape
} from "@bufbuild/protobuf"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { PropertyName } from "./ConnectClient.js"
import { callContext } from "./internal/callContext.js"
import type { ConnectError } from "./internal/connectError.js"
import { propertyName } from "./internal/propertyName.js"
import { interceptImplementation, type ServerInterceptor, type ServerInterceptorContext } from "./internal/interceptor/server.js"
import { type HandlerContext, type MethodImplementation, type Registered, serviceTag } from "./internal/server/service.js"
import { toStreamingHandler } from "./internal/server/streamingHandler.js"

export type {
  /**
   * What a handler knows of its call besides the request message(s).
   *
   * @since 0.1.0
   * @category models
   */
  HandlerContext,
  /**
   * A method ready to serve, with the services its handler needs already provided.
   *
   * @since 0.1.0
   * @category models
   */
  MethodImplementation,
  /**
   * A TLS client's certificate, as a handler sees it.
   *
   * @since 0.2.0
   * @category models
   */
  PeerCertificate,
  /**
   * An implementation of service `S` in context, as a server finds it.
   *
   * @since 0.1.0
   * @category models
   */
  Registered
} from "./internal/server/service.js"

/**
 * @since 0.1.0
 * @category models
 */
export type UnaryHandler<I extends DescMessage, O extends DescMessage, R> = (
  request: MessageShape<I>,
  context: HandlerContext
) => Effect.Effect<MessageInitShape<O>, unknown, R>

/**
 * @since 0.1.0
 * @category models
 */
export type ServerStreamingHandler<I extends DescMessage, O extends DescMessage, R> = (
  request: MessageShape<I>,
  context: HandlerContext
) => Stream.Stream<MessageInitShape<O>, unknown, R>

/**
 * @since 0.1.0
 * @category models
 */
export type ClientStreamingHandler<I extends DescMessage, O extends DescMessage, R> = (
  requests: Stream.Stream<MessageShape<I>, ConnectError>,
  context: HandlerContext
) => Effect.Effect<MessageInitShape<O>, unknown, R>

/**
 * @since 0.1.0
 * @category models
 */
export type BidiStreamingHandler<I extends DescMessage, O extends DescMessage, R> = (
  requests: Stream.Stream<MessageShape<I>, ConnectError>,
  context: HandlerContext
) => Stream.Stream<MessageInitShape<O>, unknown, R>

/**
 * The handler of one method, by its kind. A failure with a ConnectError reaches the client as
 * it is; any other failure, and any defect, reaches it as `internal` and is logged.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler<M, R> = M extends DescMethodUnary<infer I, infer O> ? UnaryHandler<I, O, R>
  : M extends DescMethodServerStreaming<infer I, infer O> ? ServerStreamingHandler<I, O, R>
  : M extends DescMethodClientStreaming<infer I, infer O> ? ClientStreamingHandler<I, O, R>
  : M extends DescMethodBiDiStreaming<infer I, infer O> ? BidiStreamingHandler<I, O, R>
  : never

/**
 * An implementation of a service: one handler per method, keyed by the method's `localName`.
 *
 * @since 0.1.0
 * @category models
 */
export type Handlers<S extends DescService, R = never> = {
  readonly [K in keyof S["method"] as PropertyName<K>]: Handler<S["method"][K], R>
}

/**
 * The services a record of handlers requires.
 *
 * @since 0.1.0
 * @category models
 */
export type HandlersContext<H> = {
  [K in keyof H]: H[K] extends (...args: ReadonlyArray<never>) => infer Out
    ? Out extends Effect.Effect<infer _A, infer _E, infer R> ? R
    : Out extends Stream.Stream<infer _A, infer _E, infer R> ? R
    : never
    : never
}[keyof H]

/**
 * The Context tag of the implementation of `service`; the same service gives the same tag.
 *
 * @since 0.1.0
 * @category tags
 */
export const tag: <S extends DescService>(service: S) => Context.Tag<Registered<S>, Registered<S>> = serviceTag

/**
 * The implementations a list of services requires.
 *
 * @since 0.2.0
 * @category models
 */
export type Implementations<Services extends ReadonlyArray<DescService>> = Services[number] extends infer S
  ? S extends DescService ? Registered<S> : never
  : never

/**
 * The options of `toLayer`.
 *
 * @since 0.2.0
 * @category models
 */
export interface LayerOptions<I extends ReadonlyArray<ServerInterceptor<any>>> {
  /**
   * Around every handler of this service, the first one outermost; inside the server's own.
   * Their services are required by the Layer.
   */
  readonly interceptors?: I
}

type AnyFunction = (...args: ReadonlyArray<never>) => unknown

/**
 * Provides an implementation of `service` as a Layer; a server serving `service` requires it.
 *
 * @example
 * ```ts
 * const ElizaLive = ConnectService.toLayer(ElizaService, {
 *   say: (req) => Effect.succeed({ sentence: `You said: ${req.sentence}` }),
 *   introduce: (req) => Stream.make({ sentence: `Hi ${req.name}` }),
 *   converse: (requests) => Stream.map(requests, (r) => ({ sentence: r.sentence })),
 *   pontificate: (requests) => Effect.map(Stream.runCount(requests), (n) => ({ sentence: `${n} thoughts` }))
 * })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const toLayer = <
  S extends DescService,
  const H extends Handlers<S, unknown>,
  const I extends ReadonlyArray<ServerInterceptor<any>> = []
>(
  service: S,
  handlers: H,
  options?: LayerOptions<I>
): Layer.Layer<Registered<S>, never, HandlersContext<H> | ServerInterceptorContext<I[number]>> =>
  Layer.effect(
    tag(service),
    Effect.map(Effect.context<HandlersContext<H>>(), (built): Registered<S> => {
      const context = callContext(built)
      const provide = context.unsafeMap.size === 0
        ? <A, E>(effect: Effect.Effect<A, E, any>) => effect as Effect.Effect<A, E>
        : <A, E>(effect: Effect.Effect<A, E, any>) => Effect.provide(effect, context) as Effect.Effect<A, E>
      const provideStream = context.unsafeMap.size === 0
        ? <A, E>(stream: Stream.Stream<A, E, any>) => stream as Stream.Stream<A, E>
        // Added to the caller's context, not replacing it: what an interceptor provides per call reaches the handler.
        : <A, E>(stream: Stream.Stream<A, E, any>) => Stream.provideSomeContext(stream, context) as Stream.Stream<A, E>
      const methods = service.methods.map((method): MethodImplementation => {
        const handler = (handlers as Record<string, AnyFunction>)[propertyName(method.localName)]
        if (handler === undefined) throw new Error(`no handler for ${service.typeName}.${method.name}`)
        const unary = method.methodKind === "unary"
          ? (request: unknown, ctx: HandlerContext) =>
            provide(handler(request as never, ctx as never) as Effect.Effect<unknown, unknown, any>)
          : undefined
        const serverStreaming = method.methodKind === "server_streaming"
          ? (request: unknown, ctx: HandlerContext) =>
            provideStream(handler(request as never, ctx as never) as Stream.Stream<unknown, unknown, any>)
          : undefined
        return {
          method,
          unary,
          serverStreaming,
          streaming: toStreamingHandler(method.methodKind, (input: unknown, ctx: HandlerContext) => {
            const out = handler(input as never, ctx as never) as Effect.Effect<unknown, unknown, any> | Stream.Stream<unknown, unknown, any>
            return Effect.isEffect(out) ? provide(out) : provideStream(out as Stream.Stream<unknown, unknown, any>)
          })
        }
      })
      const interceptors = options?.interceptors ?? []
      return {
        service,
        methods: interceptors.length === 0 ? methods : methods.map((impl) => interceptImplementation(impl, interceptors, context))
      }
    })
  )
