/**
 * TestService implemented twice, with the same behaviour: on connect-effect and on
 * @connectrpc/connect-node, so every test can pair our side with an independent peer.
 *
 * Behaviour: Echo returns text and payload, and lists the request's `x-test*` headers; each
 * handler sets response header `x-test-header: <text>` and trailer `x-test-trailer: done`;
 * `fail_with` fails with that code (message "failed: <text>", one ErrorDetail attached);
 * `delay_ms` sleeps first. ServerStream sends `count` messages of `size` bytes.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf"
import { Code as NodeCode, ConnectError as NodeConnectError, type ConnectRouter } from "@connectrpc/connect"
import { Code, ConnectError, ConnectService } from "connect-effect"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import {
  type EchoRequest,
  type EchoResponseSchema,
  ErrorDetailSchema,
  TestService
} from "../gen/connecteffect/test/v1/test_pb.js"
import { payloadOf } from "./bytes.js"

const testHeaders = (entries: Iterable<[string, string]>) =>
  Array.from(entries).filter(([name]) => name.startsWith("x-test")).map(([n, v]) => `${n}: ${v}`).sort()

// ---- connect-effect ----

const failure = (code: string, text: string) =>
  Code.isCode(code)
    ? ConnectError.make(code, `failed: ${text}`, { details: [ConnectError.detail(ErrorDetailSchema, { reason: text, attempt: 1 })] })
    : ConnectError.make("internal", `bad fail_with ${code}`)

const answer = (request: EchoRequest, ctx: ConnectService.HandlerContext): Effect.Effect<MessageInitShape<typeof EchoResponseSchema>, ConnectError.ConnectError> =>
  Effect.suspend(() => {
    ctx.responseHeaders.set("x-test-header", request.text)
    ctx.responseTrailers.set("x-test-trailer", "done")
    const reply = { text: request.text, payload: request.payload, headers: testHeaders(Object.entries(ctx.requestHeaders)) }
    const result = request.failWith === "" ? Effect.succeed(reply) : Effect.fail(failure(request.failWith, request.text))
    return request.delayMs > 0 ? Effect.delay(result, request.delayMs) : result
  })

/** TestService on connect-effect. */
export const TestServiceLive = ConnectService.toLayer(TestService, {
  echo: answer,
  serverStream: (request, ctx) => {
    ctx.responseHeaders.set("x-test-header", request.text)
    ctx.responseTrailers.set("x-test-trailer", "done")
    const messages = Stream.range(0, request.count - 1).pipe(
      Stream.take(request.count),
      Stream.map((i) => ({ text: `${request.text} ${i}`, payload: payloadOf(request.size, i) })),
      Stream.tap(() => (request.delayMs > 0 ? Effect.sleep(request.delayMs) : Effect.void))
    )
    return request.failWith === "" ? messages : Stream.concat(messages, Stream.fail(failure(request.failWith, request.text)))
  },
  clientStream: (requests, ctx) =>
    Effect.flatMap(Stream.runCollect(requests), (all) => {
      const list = Array.from(all)
      const last = list[list.length - 1]
      const text = list.map((r) => r.text).join(",")
      if (last !== undefined && last.failWith !== "") return Effect.fail(failure(last.failWith, text))
      return answer(create(TestService.method.echo.input, { text }), ctx)
    }),
  bidiStream: (requests, ctx) => Stream.mapEffect(requests, (request) => answer(request, ctx))
})

// ---- @connectrpc/connect-node ----

const nodeFailure = (code: string, text: string) =>
  new NodeConnectError(`failed: ${text}`, Code.isCode(code) ? Code.toNumber(code) as NodeCode : NodeCode.Internal, undefined, [
    { desc: ErrorDetailSchema, value: { reason: text, attempt: 1 } }
  ])

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const nodeAnswer = async (
  request: EchoRequest,
  ctx: { requestHeader: Headers; responseHeader: Headers; responseTrailer: Headers }
) => {
  ctx.responseHeader.set("x-test-header", request.text)
  ctx.responseTrailer.set("x-test-trailer", "done")
  if (request.delayMs > 0) await sleep(request.delayMs)
  if (request.failWith !== "") throw nodeFailure(request.failWith, request.text)
  return { text: request.text, payload: request.payload, headers: testHeaders(ctx.requestHeader.entries()) }
}

/** TestService on @connectrpc/connect-node, for connectNodeAdapter's `routes`. */
export const connectNodeRoutes = (router: ConnectRouter) =>
  router.service(TestService, {
    echo: nodeAnswer,
    async *serverStream(request, ctx) {
      ctx.responseHeader.set("x-test-header", request.text)
      ctx.responseTrailer.set("x-test-trailer", "done")
      for (let i = 0; i < request.count; i++) {
        if (request.delayMs > 0) await sleep(request.delayMs)
        yield { text: `${request.text} ${i}`, payload: payloadOf(request.size, i) }
      }
      if (request.failWith !== "") throw nodeFailure(request.failWith, request.text)
    },
    async clientStream(requests, ctx) {
      const list: Array<EchoRequest> = []
      for await (const r of requests) list.push(r)
      const text = list.map((r) => r.text).join(",")
      const last = list[list.length - 1]
      if (last !== undefined && last.failWith !== "") throw nodeFailure(last.failWith, text)
      return nodeAnswer(create(TestService.method.echo.input, { text }), ctx)
    },
    async *bidiStream(requests, ctx) {
      for await (const r of requests) yield await nodeAnswer(r, ctx)
    }
  })
