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
  BidiStreamRequestSchema,
  ClientStreamRequestSchema,
  type ConformancePayload_RequestInfo,
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

/**
 * The answer of a server-streaming or (half-duplex) bidi call: the defined messages, the
 * request info in the first, a delay before each, then the defined error if any (carrying
 * the request info when no message went before it).
 */
const streamResponse = (
  definition: StreamResponseDefinition | undefined,
  requests: ReadonlyArray<Any>,
  ctx: ConnectService.HandlerContext
) =>
  Stream.suspend(() => {
    appendHeaders(ctx.responseHeaders, definition?.responseHeaders ?? [])
    appendHeaders(ctx.responseTrailers, definition?.responseTrailers ?? [])
    const info = requestInfo(ctx, requests)
    const data = definition?.responseData ?? []
    const messages = Stream.mapEffect(
      Stream.fromIterable(data.entries()),
      ([index, bytes]) =>
        Effect.as(sleep(definition?.responseDelayMs ?? 0), {
          payload: { data: bytes, ...(index === 0 ? { requestInfo: info } : {}) }
        })
    )
    const error = definition?.error
    return error === undefined
      ? messages
      : Stream.concat(messages, Stream.fail(fromProtoError(error, data.length === 0 ? [requestInfoDetail(info)] : [])))
  })

const fullDuplexUnsupported = ConnectError.make(
  "unimplemented",
  "full-duplex bidi streams need HTTP/2, which is not under test"
)

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
    streamResponse(request.responseDefinition, [anyPack(ServerStreamRequestSchema, request)], ctx),
  bidiStream: (requests, ctx) =>
    Stream.unwrap(Effect.map(Stream.runCollect(requests), (chunk) => {
      const all = Chunk.toReadonlyArray(chunk)
      return all[0]?.fullDuplex === true
        ? Stream.fail(fullDuplexUnsupported)
        : streamResponse(all[0]?.responseDefinition, packAll(BidiStreamRequestSchema, all), ctx)
    }))
})
