/**
 * The server-under-test's ConformanceService: each handler answers as its request's response
 * definition says, echoing what it observed of the request (headers, timeout, messages).
 */
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf"
import { type Any, anyPack } from "@bufbuild/protobuf/wkt"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ConnectError, type ConnectService } from "connect-effect"
import {
  type BidiStreamRequest,
  BidiStreamRequestSchema,
  ClientStreamRequestSchema,
  type ConformancePayload_RequestInfo,
  type Error as ProtoError,
  ConformancePayload_RequestInfoSchema,
  IdempotentUnaryRequestSchema,
  ServerStreamRequestSchema,
  type StreamResponseDefinition,
  UnaryRequestSchema,
  type UnaryResponseDefinition
} from "./gen/connectrpc/conformance/v1/service_pb.js"
import { ConformanceServiceHandlers } from "./gen/connectrpc/conformance/v1/service_connect_effect.js"
import { appendHeaders, fromProtoError, toProtoHeaders } from "./convert.js"

/** What the handler observed of the request: headers, remaining timeout, the request messages. */
const requestInfo = (ctx: ConnectService.HandlerContext, requests: ReadonlyArray<Any>): ConformancePayload_RequestInfo =>
  create(ConformancePayload_RequestInfoSchema, {
    requestHeaders: toProtoHeaders(ctx.requestHeaders),
    requests: [...requests],
    ...Option.match(ctx.deadline, {
      onNone: () => ({}),
      onSome: (deadline) => ({ timeoutMs: BigInt(Math.max(0, deadline - Date.now())) })
    })
  })

const requestInfoDetail = (info: ConformancePayload_RequestInfo) =>
  ConnectError.detail(ConformancePayload_RequestInfoSchema, info)

const packAll = <Desc extends DescMessage>(schema: Desc, messages: Iterable<MessageShape<Desc>>) =>
  Array.from(messages, (message) => anyPack(schema, message))

const sleep = (ms: number) => ms === 0 ? Effect.void : Effect.sleep(Duration.millis(ms))

/** The answer of a unary or client-streaming call: the defined data or error, after the defined delay. */
const unaryResponse = (
  definition: UnaryResponseDefinition | undefined,
  requests: ReadonlyArray<Any>,
  ctx: ConnectService.HandlerContext
) =>
  Effect.suspend(() => {
    appendHeaders(ctx.responseHeaders, definition?.responseHeaders ?? [])
    appendHeaders(ctx.responseTrailers, definition?.responseTrailers ?? [])
    const info = requestInfo(ctx, requests)
    const response = definition?.response
    const outcome = response?.case === "error"
      ? Effect.fail(fromProtoError(response.value, [requestInfoDetail(info)]))
      : Effect.succeed({
        payload: { requestInfo: info, ...(response?.case === "responseData" ? { data: response.value } : {}) }
      })
    return Effect.zipRight(sleep(definition?.responseDelayMs ?? 0), outcome)
  })

/** Message `index` of a streaming answer, after the defined delay, with `info` if given. */
const messageAt = (
  definition: StreamResponseDefinition | undefined,
  index: number,
  info: ConformancePayload_RequestInfo | undefined
) =>
  Effect.as(sleep(definition?.responseDelayMs ?? 0), {
    payload: { data: definition!.responseData[index]!, ...(info === undefined ? {} : { requestInfo: info }) }
  })

/** The defined error, with the request info as a detail when no message went before it. */
const definedError = (error: ProtoError, info: ConformancePayload_RequestInfo | undefined) =>
  fromProtoError(error, info === undefined ? [] : [requestInfoDetail(info)])

/**
 * The messages of a server-streaming or half-duplex bidi answer, a delay before each, the
 * request info in the first, then the defined error if any.
 */
const streamMessages = (definition: StreamResponseDefinition | undefined, info: ConformancePayload_RequestInfo) =>
  Stream.suspend(() => {
    const data = definition?.responseData ?? []
    const messages = Stream.mapEffect(Stream.range(0, data.length - 1), (i) => messageAt(definition, i, i === 0 ? info : undefined))
    const error = definition?.error
    return error === undefined
      ? messages
      : Stream.concat(messages, Stream.fail(definedError(error, data.length === 0 ? info : undefined)))
  })

const setMetadata = (definition: StreamResponseDefinition | undefined, ctx: ConnectService.HandlerContext) => {
  appendHeaders(ctx.responseHeaders, definition?.responseHeaders ?? [])
  appendHeaders(ctx.responseTrailers, definition?.responseTrailers ?? [])
}

/**
 * A bidi call. Half duplex: every request is read, then the answer is sent. Full duplex
 * (HTTP/2): each request is answered with the next message as it arrives, carrying the requests
 * received since the last answer; a request with no message left gets the defined error.
 */
const bidiResponse = (requests: Stream.Stream<BidiStreamRequest, ConnectError.ConnectError>, ctx: ConnectService.HandlerContext) =>
  Stream.suspend(() => {
    const received: Array<Any> = []
    let unanswered: Array<Any> = []
    let definition: StreamResponseDefinition | undefined
    let fullDuplex = false
    let sent = 0
    const asTheyCome = Stream.filterMap(
      Stream.mapEffect(requests, (request) => {
        if (received.length === 0) {
          definition = request.responseDefinition
          fullDuplex = request.fullDuplex
          setMetadata(definition, ctx)
        }
        const packed = anyPack(BidiStreamRequestSchema, request)
        received.push(packed)
        unanswered.push(packed)
        if (!fullDuplex) return Effect.succeed(Option.none())
        const info = requestInfo(ctx, unanswered)
        unanswered = []
        if (sent < (definition?.responseData.length ?? 0)) return Effect.map(messageAt(definition, sent++, info), Option.some)
        const error = definition?.error
        return error === undefined ? Effect.succeed(Option.none()) : Effect.fail(definedError(error, info))
      }),
      (o) => o
    )
    const afterTheLast = Stream.suspend(() => {
      if (!fullDuplex) return streamMessages(definition, requestInfo(ctx, received))
      const error = definition?.error
      return error === undefined ? Stream.empty : Stream.fail(definedError(error, sent === 0 ? requestInfo(ctx, unanswered) : undefined))
    })
    return Stream.concat(asTheyCome, afterTheLast)
  })

/** The ConformanceService implementation of the server-under-test. */
export const ConformanceLive = ConformanceServiceHandlers.layer({
  unary: (request, ctx) => unaryResponse(request.responseDefinition, [anyPack(UnaryRequestSchema, request)], ctx),
  idempotentUnary: (request, ctx) =>
    unaryResponse(request.responseDefinition, [anyPack(IdempotentUnaryRequestSchema, request)], ctx),
  unimplemented: () => Effect.fail(ConnectError.make("unimplemented", "connectrpc.conformance.v1.ConformanceService.Unimplemented is not implemented")),
  clientStream: (requests, ctx) =>
    Effect.flatMap(Stream.runCollect(requests), (chunk) => {
      const all = Chunk.toReadonlyArray(chunk)
      return unaryResponse(all[0]?.responseDefinition, packAll(ClientStreamRequestSchema, all), ctx)
    }),
  serverStream: (request, ctx) =>
    Stream.suspend(() => {
      setMetadata(request.responseDefinition, ctx)
      return streamMessages(request.responseDefinition, requestInfo(ctx, [anyPack(ServerStreamRequestSchema, request)]))
    }),
  bidiStream: bidiResponse
})
