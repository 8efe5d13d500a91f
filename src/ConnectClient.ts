/**
 * Clients from service descriptors: unary and client-streaming calls are Effects,
 * server-streaming and bidi calls are Streams, and every failure is a ConnectError.
 *
 * @since 0.1.0
 */
import type {
  DescMessage,
  DescMethod,
  DescMethodBiDiStreaming,
  DescMethodClientStreaming,
  DescMethodServerStreaming,
  DescMethodStreaming,
  DescMethodUnary,
  DescService,
  MessageInitShape,
  MessageShape
} from "@bufbuild/protobuf"
import * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ConnectError } from "./internal/connectError.js"
import { deadlineOf, effectWithin, streamWithin } from "./internal/deadline.js"
import { exactlyOne } from "./internal/exactlyOne.js"
import { propertyName } from "./internal/propertyName.js"
import * as Transport from "./internal/transport.js"

/**
 * Request messages of a client- or bidi-streaming call: a Stream, or any Iterable.
 *
 * @since 0.1.0
 * @category models
 */
export type Requests<I extends DescMessage, E = never> =
  | Stream.Stream<MessageInitShape<I>, E>
  | Iterable<MessageInitShape<I>>

/**
 * @since 0.1.0
 * @category models
 */
export interface UnaryMethod<I extends DescMessage, O extends DescMessage> {
  (request: MessageInitShape<I>, options?: Transport.CallOptions): Effect.Effect<MessageShape<O>, ConnectError>
  /** The call, with the response's headers and trailers. */
  readonly withResponse: (
    request: MessageInitShape<I>,
    options?: Transport.CallOptions
  ) => Effect.Effect<Transport.UnaryResponse<MessageShape<O>>, ConnectError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ServerStreamingMethod<I extends DescMessage, O extends DescMessage> {
  (request: MessageInitShape<I>, options?: Transport.CallOptions): Stream.Stream<MessageShape<O>, ConnectError>
  /** The call, with the response's headers (now) and trailers (after the last message), owned by the Scope. */
  readonly withResponse: (
    request: MessageInitShape<I>,
    options?: Transport.CallOptions
  ) => Effect.Effect<Transport.StreamResponse<MessageShape<O>>, ConnectError, Scope.Scope>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ClientStreamingMethod<I extends DescMessage, O extends DescMessage> {
  <E = never>(requests: Requests<I, E>, options?: Transport.CallOptions): Effect.Effect<MessageShape<O>, ConnectError | E>
  /** The call, with the response's headers and trailers. */
  readonly withResponse: <E = never>(
    requests: Requests<I, E>,
    options?: Transport.CallOptions
  ) => Effect.Effect<Transport.UnaryResponse<MessageShape<O>>, ConnectError | E>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BidiStreamingMethod<I extends DescMessage, O extends DescMessage> {
  <E = never>(requests: Requests<I, E>, options?: Transport.CallOptions): Stream.Stream<MessageShape<O>, ConnectError | E>
  /** The call, with the response's headers (now) and trailers (after the last message), owned by the Scope. */
  readonly withResponse: <E = never>(
    requests: Requests<I, E>,
    options?: Transport.CallOptions
  ) => Effect.Effect<Transport.StreamResponse<MessageShape<O>, E>, ConnectError | E, Scope.Scope>
}

/**
 * The client of one method, by its kind.
 *
 * @since 0.1.0
 * @category models
 */
export type MethodClient<M> = M extends DescMethodUnary<infer I, infer O> ? UnaryMethod<I, O>
  : M extends DescMethodServerStreaming<infer I, infer O> ? ServerStreamingMethod<I, O>
  : M extends DescMethodClientStreaming<infer I, infer O> ? ClientStreamingMethod<I, O>
  : M extends DescMethodBiDiStreaming<infer I, infer O> ? BidiStreamingMethod<I, O>
  : never

/**
 * The property a method is found under: its `localName`, but `then` becomes `then$` so that
 * no client or handler record is ever a thenable.
 *
 * @since 0.1.0
 * @category models
 */
export type PropertyName<K> = K extends "then" ? "then$" : K

/**
 * A client of a service: one property per method, named by the method's `localName`
 * (`Say` is `say`; see `PropertyName`).
 *
 * @since 0.1.0
 * @category models
 */
export type Client<S extends DescService> = {
  readonly [K in keyof S["method"] as PropertyName<K>]: MethodClient<S["method"][K]>
}

const requestOptions = (options: Transport.CallOptions | undefined, timeoutMs: number | undefined): Transport.RequestOptions => ({
  headers: options?.headers === undefined ? Headers.empty : Headers.fromInput(options.headers),
  timeoutMs
})

/**
 * The user's request stream as the transport sees it. A failure of the user's stream aborts
 * the call; `restore` then replaces the transport's error with the user's own.
 */
const requestStream = <E>(requests: Requests<DescMessage, E>) => {
  let failure: Option.Option<E> = Option.none()
  const source: Stream.Stream<unknown, E> = Stream.StreamTypeId in requests
    ? requests as Stream.Stream<unknown, E>
    : Stream.fromIterable(requests as Iterable<unknown>)
  const stream = Stream.catchAll(source, (e) => {
    failure = Option.some(e)
    return Stream.fail(new ConnectError({ code: "canceled", message: "the request stream failed" }))
  })
  const restore = (error: ConnectError): E | ConnectError => Option.getOrElse(failure, () => error)
  return { stream, restore }
}

const unaryMethod = (transport: Transport.Transport, method: DescMethodUnary): UnaryMethod<DescMessage, DescMessage> => {
  // The deadline starts when the call runs (each time it runs), not when it is built.
  const withResponse = (request: unknown, options?: Transport.CallOptions) =>
    Effect.suspend(() => {
      const deadline = deadlineOf(options?.timeout)
      return effectWithin(transport.unary(method, request as never, requestOptions(options, deadline?.timeoutMs)), deadline)
    })
  return Object.assign(
    (request: unknown, options?: Transport.CallOptions) => Effect.map(withResponse(request, options), (r) => r.message),
    { withResponse }
  )
}

const streamWithResponse = (transport: Transport.Transport, method: DescMethodStreaming) =>
<E>(requests: Requests<DescMessage, E>, options?: Transport.CallOptions) =>
  Effect.suspend(() => {
    const deadline = deadlineOf(options?.timeout)
    const input = requestStream(requests)
    return effectWithin(
      transport.stream(method, input.stream as never, requestOptions(options, deadline?.timeoutMs)),
      deadline
    ).pipe(
      Effect.map((response) => ({
        ...response,
        messages: streamWithin(response.messages, deadline).pipe(Stream.mapError(input.restore))
      })),
      Effect.mapError(input.restore)
    )
  })

/** A method whose responses are a Stream; `toRequests` turns its input into the request stream. */
const streamingResponseMethod = <In>(
  transport: Transport.Transport,
  method: DescMethodStreaming,
  toRequests: (input: In) => Requests<DescMessage, unknown>
) => {
  const open = streamWithResponse(transport, method)
  const withResponse = (input: In, options?: Transport.CallOptions) => open(toRequests(input), options)
  return Object.assign(
    (input: In, options?: Transport.CallOptions) =>
      Stream.unwrapScoped(Effect.map(withResponse(input, options), (r) => r.messages)),
    { withResponse }
  )
}

const clientStreamingMethod = (transport: Transport.Transport, method: DescMethodStreaming) => {
  const open = streamWithResponse(transport, method)
  const withResponse = <E>(requests: Requests<DescMessage, E>, options?: Transport.CallOptions) =>
    Effect.scoped(Effect.flatMap(open(requests, options), (response) =>
      Effect.flatMap(exactlyOne(response.messages as Stream.Stream<unknown, ConnectError>, "response"), (message) =>
        Effect.map(response.trailers, (trailers) => ({ message, headers: response.headers, trailers })))))
  return Object.assign(
    <E>(requests: Requests<DescMessage, E>, options?: Transport.CallOptions) =>
      Effect.map(withResponse(requests, options), (r) => r.message),
    { withResponse }
  )
}

const methodClient = (transport: Transport.Transport, method: DescMethod): unknown => {
  switch (method.methodKind) {
    case "unary":
      return unaryMethod(transport, method as DescMethodUnary)
    case "server_streaming":
      return streamingResponseMethod(transport, method as DescMethodStreaming, (request: unknown) => [request as MessageInitShape<DescMessage>])
    case "client_streaming":
      return clientStreamingMethod(transport, method as DescMethodStreaming)
    case "bidi_streaming":
      return streamingResponseMethod(transport, method as DescMethodStreaming, (requests: Requests<DescMessage, unknown>) => requests)
  }
}

/**
 * A client of `service` on the given transport.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWith = <S extends DescService>(service: S, transport: Transport.Transport): Client<S> => {
  const client: Record<string, unknown> = {}
  for (const method of service.methods) client[propertyName(method.localName)] = methodClient(transport, method)
  return client as Client<S>
}

/**
 * A client of `service` on the Transport in context.
 *
 * @example
 * ```ts
 * const eliza = yield* ConnectClient.make(ElizaService)
 * const { sentence } = yield* eliza.say({ sentence: "Hello" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = <S extends DescService>(service: S): Effect.Effect<Client<S>, never, Transport.Transport> =>
  Effect.map(Transport.Transport, (transport) => makeWith(service, transport))
