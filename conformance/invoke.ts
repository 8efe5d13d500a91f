/**
 * The client-under-test's handling of one ClientCompatRequest: the RPC made with the
 * library's ConnectClient, described as a ClientResponseResult.
 *
 * Cancellation is interruption: the runner's "cancel the RPC" interrupts the fiber of the
 * call, and a call that ends interrupted is reported as a `canceled` error.
 */
import { create, type DescMessage } from "@bufbuild/protobuf"
import { anyUnpack } from "@bufbuild/protobuf/wkt"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type { ConnectError, Transport } from "connect-effect"
import {
  type ClientCompatRequest,
  type ClientResponseResult,
  ClientResponseResultSchema
} from "./gen/connectrpc/conformance/v1/client_compat_pb.js"
import { Code as ProtoCode, StreamType } from "./gen/connectrpc/conformance/v1/config_pb.js"
import {
  BidiStreamRequestSchema,
  ClientStreamRequestSchema,
  type ConformancePayload,
  ConformancePayloadSchema,
  ConformanceService,
  ErrorSchema,
  IdempotentUnaryRequestSchema,
  ServerStreamRequestSchema,
  UnaryRequestSchema,
  UnimplementedRequestSchema
} from "./gen/connectrpc/conformance/v1/service_pb.js"
import type { ConformanceServiceClientMethods } from "./gen/connectrpc/conformance/v1/service_connect_effect.js"
import { toHeadersInput, toProtoError, toProtoHeaders } from "./convert.js"

/**
 * A request the client-under-test cannot carry out (an unknown method, a request message of
 * the wrong type): reported to the runner as a ClientErrorResult, not as an RPC error.
 */
export class UnsupportedRequest extends Data.TaggedError("UnsupportedRequest")<{ readonly message: string }> {}

/** What a call needs besides the client: its options, the result it fills, and its cancellation signals. */
interface Call {
  readonly request: ClientCompatRequest
  readonly options: Transport.CallOptions
  readonly result: ClientResponseResult
  /** Completed when the send side is closed (at once for unary and server-stream calls). */
  readonly closed: Deferred.Deferred<void>
  /** Completed to have the call interrupted from outside (the request stream cannot do it itself). */
  readonly cancel: Deferred.Deferred<void>
}

const emptyPayload: ConformancePayload = create(ConformancePayloadSchema)

/** The payload of a response message; an empty one when the message has none. */
const payloadOf = (message: object): ConformancePayload =>
  "payload" in message && message.payload !== undefined ? message.payload as ConformancePayload : emptyPayload

const messagesOf = <Desc extends DescMessage>(request: ClientCompatRequest, schema: Desc) =>
  Effect.forEach(request.requestMessages, (any) => {
    const message = anyUnpack(any, schema)
    return message === undefined
      ? Effect.fail(new UnsupportedRequest({ message: `expected ${schema.typeName}, got ${any.typeUrl}` }))
      : Effect.succeed(message)
  })

const singleMessageOf = <Desc extends DescMessage>(request: ClientCompatRequest, schema: Desc) =>
  Effect.flatMap(messagesOf(request, schema), (messages) =>
    messages.length === 1
      ? Effect.succeed(messages[0]!)
      : Effect.fail(new UnsupportedRequest({ message: `expected 1 request message, got ${messages.length}` })))

/**
 * An error before any response arrived carries headers and trailers together in its metadata
 * (a Connect unary error sends both as HTTP headers); both fields get all of it, and the
 * runner checks only that the expected entries are present.
 */
const recordErrorMetadata = (result: ClientResponseResult) => (error: ConnectError.ConnectError) =>
  Effect.sync(() => {
    result.responseHeaders = toProtoHeaders(error.metadata)
    result.responseTrailers = toProtoHeaders(error.metadata)
  })

const recordResponse = (result: ClientResponseResult, response: Transport.UnaryResponse<object>) => {
  result.responseHeaders = toProtoHeaders(response.headers)
  result.responseTrailers = toProtoHeaders(response.trailers)
  result.payloads.push(payloadOf(response.message))
}

/** Reads a response stream to its end, recording payloads and trailers; cancels after N messages if asked. */
const receive = <A extends object>(
  call: Call,
  response: Transport.StreamResponse<A>,
  afterEach: Effect.Effect<void> = Effect.void
): Effect.Effect<void, ConnectError.ConnectError> =>
  Effect.gen(function*() {
    const { result } = call
    result.responseHeaders = toProtoHeaders(response.headers)
    const cancelAfter = call.request.cancel?.cancelTiming.case === "afterNumResponses"
      ? call.request.cancel.cancelTiming.value
      : undefined
    const outcome = yield* Effect.either(Stream.runForEach(response.messages, (message) => {
      result.payloads.push(payloadOf(message))
      return result.payloads.length === cancelAfter ? Effect.interrupt : afterEach
    }))
    result.responseTrailers = toProtoHeaders(yield* response.trailers)
    if (outcome._tag === "Left") return yield* Effect.fail(outcome.left)
  })

const delayed = <A>(call: Call, message: A): Effect.Effect<A> =>
  call.request.requestDelayMs === 0 ? Effect.succeed(message) : Effect.as(Effect.sleep(Duration.millis(call.request.requestDelayMs)), message)

/** What ends the request stream: closing it, or (when the runner asks) cancelling before that. */
const endOfRequests = (call: Call): Effect.Effect<boolean> =>
  call.request.cancel?.cancelTiming.case === "beforeCloseSend"
    ? Effect.as(Deferred.succeed(call.cancel, undefined), false)
    : Effect.as(Deferred.succeed(call.closed, undefined), true)

/** The request stream of a client or half-duplex bidi call: delays, messages, then close (or cancel instead). */
const requestStream = <A>(call: Call, messages: ReadonlyArray<A>): Stream.Stream<A> =>
  Stream.concat(
    // Without delays the messages are one chunk, which the client sends in one write.
    call.request.requestDelayMs === 0
      ? Stream.fromIterable(messages)
      : Stream.mapEffect(Stream.fromIterable(messages), (message) => delayed(call, message)),
    Stream.unwrap(Effect.map(endOfRequests(call), (close) => (close ? Stream.empty : Stream.never)))
  )

/**
 * A full-duplex bidi call: one request, then its response, then the next request, and so on;
 * after the last request, close (or cancel) and read the rest.
 */
const fullDuplex = <A, B extends object>(
  call: Call,
  messages: ReadonlyArray<A>,
  open: (requests: Stream.Stream<A>) => Effect.Effect<Transport.StreamResponse<B>, ConnectError.ConnectError, Scope.Scope>
) =>
  Effect.scoped(Effect.gen(function*() {
    const outgoing = yield* Queue.unbounded<A>()
    let next = 0
    const sendNext: Effect.Effect<void> = Effect.suspend(() => {
      if (next < messages.length) return Effect.flatMap(delayed(call, messages[next++]!), (m) => Queue.offer(outgoing, m))
      if (next++ > messages.length) return Effect.void
      return Effect.flatMap(endOfRequests(call), (close) => (close ? Queue.shutdown(outgoing) : Effect.void))
    })
    yield* sendNext
    const response = yield* Effect.tapError(open(Stream.fromQueue(outgoing)), recordErrorMetadata(call.result))
    yield* receive(call, response, sendNext)
  }))

const unary = <A extends object>(
  call: Call,
  invoke: Effect.Effect<Transport.UnaryResponse<A>, ConnectError.ConnectError>
) =>
  Effect.zipRight(
    Deferred.succeed(call.closed, undefined),
    Effect.tap(Effect.tapError(invoke, recordErrorMetadata(call.result)), (response) => recordResponse(call.result, response))
  )

const streaming = <A extends object>(
  call: Call,
  open: Effect.Effect<Transport.StreamResponse<A>, ConnectError.ConnectError, Scope.Scope>
) => Effect.scoped(Effect.flatMap(Effect.tapError(open, recordErrorMetadata(call.result)), (response) => receive(call, response)))

/** The RPC of the request, as an Effect that fills `call.result`. */
const rpcOf = (client: ConformanceServiceClientMethods, call: Call): Effect.Effect<Effect.Effect<void, ConnectError.ConnectError>, UnsupportedRequest> => {
  const { request, options } = call
  switch (request.method) {
    case ConformanceService.method.unary.name:
      return Effect.map(singleMessageOf(request, UnaryRequestSchema), (m) => unary(call, client.unary.withResponse(m, options)))
    case ConformanceService.method.idempotentUnary.name:
      return Effect.map(
        singleMessageOf(request, IdempotentUnaryRequestSchema),
        (m) => unary(call, client.idempotentUnary.withResponse(m, options))
      )
    case ConformanceService.method.unimplemented.name:
      return Effect.map(
        singleMessageOf(request, UnimplementedRequestSchema),
        (m) => unary(call, client.unimplemented.withResponse(m, options))
      )
    case ConformanceService.method.serverStream.name:
      return Effect.map(singleMessageOf(request, ServerStreamRequestSchema), (m) =>
        Effect.zipRight(
          Deferred.succeed(call.closed, undefined),
          streaming(call, client.serverStream.withResponse(m, options))
        ))
    case ConformanceService.method.clientStream.name:
      return Effect.map(messagesOf(request, ClientStreamRequestSchema), (ms) =>
        unary(call, client.clientStream.withResponse(requestStream(call, ms), options)))
    case ConformanceService.method.bidiStream.name:
      if (request.streamType === StreamType.FULL_DUPLEX_BIDI_STREAM) {
        return Effect.map(messagesOf(request, BidiStreamRequestSchema), (ms) =>
          fullDuplex(call, ms, (requests) => client.bidiStream.withResponse(requests, options)))
      }
      return Effect.map(messagesOf(request, BidiStreamRequestSchema), (ms) =>
        streaming(call, client.bidiStream.withResponse(requestStream(call, ms), options)))
    default:
      return Effect.fail(new UnsupportedRequest({ message: `unknown method ${request.service ?? ""}/${request.method ?? ""}` }))
  }
}

/** Interrupts `fiber` when the request says to cancel: on `cancel`, or some time after the send side closed. */
const cancelWatcher = (call: Call, fiber: Fiber.RuntimeFiber<void, ConnectError.ConnectError>) => {
  const cancel = call.request.cancel
  const trigger = cancel === undefined
    ? Deferred.await(call.cancel)
    : cancel.cancelTiming.case === undefined || cancel.cancelTiming.case === "afterCloseSendMs"
    ? Effect.zipRight(Deferred.await(call.closed), Effect.sleep(Duration.millis(cancel.cancelTiming.value ?? 0)))
    : Deferred.await(call.cancel)
  return Effect.zipRight(trigger, Fiber.interrupt(fiber))
}

const recordExit = (result: ClientResponseResult, exit: Exit.Exit<void, ConnectError.ConnectError>) => {
  if (Exit.isSuccess(exit)) return
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    result.error = toProtoError(failure.value)
  } else if (Cause.isInterruptedOnly(exit.cause)) {
    result.error = create(ErrorSchema, { code: ProtoCode.CANCELED, message: "the call was interrupted" })
  } else {
    result.error = create(ErrorSchema, { code: ProtoCode.UNKNOWN, message: Cause.pretty(exit.cause) })
  }
}

/**
 * Makes the RPC described by `request` with `client` and describes its outcome; fails only
 * when the request cannot be carried out at all.
 */
export const invoke = (
  request: ClientCompatRequest,
  client: ConformanceServiceClientMethods
): Effect.Effect<ClientResponseResult, UnsupportedRequest> =>
  Effect.gen(function*() {
    const call: Call = {
      request,
      options: {
        headers: toHeadersInput(request.requestHeaders),
        ...(request.timeoutMs === undefined ? {} : { timeout: Duration.millis(request.timeoutMs) })
      },
      result: create(ClientResponseResultSchema),
      closed: yield* Deferred.make<void>(),
      cancel: yield* Deferred.make<void>()
    }
    const rpc = yield* rpcOf(client, call)
    const fiber = yield* Effect.fork(rpc)
    yield* Effect.forkScoped(cancelWatcher(call, fiber))
    recordExit(call.result, yield* Fiber.await(fiber))
    return call.result
  }).pipe(Effect.scoped)
