/**
 * GrpcReflection on our server, called by our client over HTTP/2 (full-duplex bidi, in Connect
 * and gRPC) and in raw HTTP/1.1: every kind of request of v1 and v1alpha, each file sent once per
 * stream, the files complete enough to rebuild the schema, and hostile input answered without
 * ending the server.
 */
import { create, createFileRegistry, type DescService, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf"
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt"
import { describe, expect, layer } from "@effect/vitest"
import { ConnectClient, GrpcReflection, Transport } from "connect-effect"
import { ConnectServer, NodeTransport } from "connect-effect/node"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { file_connecteffect_reflection_v1_extensions } from "./gen/connecteffect/reflection/v1/extensions_pb.js"
import { ReflectedService } from "./gen/connecteffect/reflection/v1/reflected_pb.js"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { envelope, parseStreamBody, rawRequest } from "./support/rawHttp.js"

const described = [ReflectedService, TestService, ...GrpcReflection.services] as const
const readMaxBytes = 2 * 1024 * 1024

const ReflectionServer = ConnectServer.layer({ services: GrpcReflection.services, readMaxBytes }).pipe(
  Layer.provide(GrpcReflection.layer(described, { files: [file_connecteffect_reflection_v1_extensions] }))
)

const v1 = GrpcReflection.ServerReflection
const v1alpha = GrpcReflection.ServerReflectionV1alpha
type Request = MessageInitShape<typeof v1.method.serverReflectionInfo.input>

const pkg = "connecteffect.reflection.v1"
const reflected = "connecteffect/reflection/v1/reflected.proto"
const extensions = "connecteffect/reflection/v1/extensions.proto"
const timestamp = "google/protobuf/timestamp.proto"

/** A client of `service` over h2c, owned by the Scope. */
const clientOf = <S extends DescService>(service: S, protocol: "connect" | "grpc" = "connect") =>
  Effect.gen(function*() {
    const { url } = yield* ConnectServer.ConnectServer
    const context = yield* Layer.build(NodeTransport.layerHttp2({ baseUrl: url, protocol }))
    return ConnectClient.makeWith(service, Context.get(context, Transport.Transport))
  })

/** One ServerReflectionInfo stream of `requests` (v1), its answers collected. */
const reflect = (requests: ReadonlyArray<Request>) =>
  Effect.flatMap(clientOf(v1), (client) =>
    Effect.map(Stream.runCollect(client.serverReflectionInfo(requests)), Chunk.toArray))

type Response = Effect.Effect.Success<ReturnType<typeof reflect>>[number]

/** The names of the files of a file_descriptor_response, in order. */
const fileNames = (response: Response | undefined): ReadonlyArray<string> => {
  expect(response?.messageResponse.case).toBe("fileDescriptorResponse")
  const files = response?.messageResponse.case === "fileDescriptorResponse"
    ? response.messageResponse.value.fileDescriptorProto
    : []
  return files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name)
}

const expectNotFound = (response: Response | undefined, text: string) => {
  expect(response?.messageResponse.case).toBe("errorResponse")
  if (response?.messageResponse.case !== "errorResponse") return
  expect(response.messageResponse.value.errorCode).toBe(5)
  expect(response.messageResponse.value.errorMessage).toContain(text)
}

describe("GrpcReflection", () => {
  layer(ReflectionServer)((it) => {
    it.scoped("list_services lists the services given, sorted, echoing host and request", () =>
      Effect.gen(function*() {
        const [response] = yield* reflect([{ host: "example", messageRequest: { case: "listServices", value: "*" } }])
        expect(response!.validHost).toBe("example")
        expect(response!.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "*" })
        expect(response!.messageResponse).toEqual({
          case: "listServicesResponse",
          value: expect.objectContaining({
            service: [
              `${pkg}.ReflectedService`,
              "connecteffect.test.v1.TestService",
              "grpc.reflection.v1.ServerReflection",
              "grpc.reflection.v1alpha.ServerReflection"
            ].map((name) => expect.objectContaining({ name }))
          })
        })
      }))

    it.scoped("file_containing_symbol: every kind of name; imports sent once per stream, the file itself every time", () =>
      Effect.gen(function*() {
        const symbols = [
          `${pkg}.ReflectedService`,
          `${pkg}.ReflectedService.Get`,
          `${pkg}.Outer`,
          `${pkg}.Outer.name`,
          `${pkg}.Outer.choice`,
          `${pkg}.Outer.Inner`,
          `${pkg}.Outer.Inner.Kind`,
          `${pkg}.Outer.Inner.KIND_A`,
          `${pkg}.Color`,
          `${pkg}.COLOR_RED`
        ]
        const responses = yield* reflect(symbols.map((value) => ({ messageRequest: { case: "fileContainingSymbol", value } })))
        expect(responses.map(fileNames)).toEqual([[reflected, timestamp], ...symbols.slice(1).map(() => [reflected])])
        // A new stream starts again.
        expect(fileNames((yield* reflect([{ messageRequest: { case: "fileContainingSymbol", value: `${pkg}.Outer` } }]))[0]))
          .toEqual([reflected, timestamp])
      }))

    it.scoped("the files answered are complete: they rebuild the service, its messages and their imports", () =>
      Effect.gen(function*() {
        const [response] = yield* reflect([{ messageRequest: { case: "fileContainingSymbol", value: `${pkg}.ReflectedService` } }])
        const files = response!.messageResponse.case === "fileDescriptorResponse"
          ? response!.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b))
          : []
        // The registry wants imports before their importers: the answer has the file first.
        const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: files.reverse() }))
        const service = registry.getService(`${pkg}.ReflectedService`)
        expect(service?.methods.map((m) => [m.name, m.methodKind])).toEqual([["Get", "unary"], ["Exchange", "bidi_streaming"]])
        const outer = registry.getMessage(`${pkg}.Outer`)
        expect(outer?.fields.map((f) => f.name)).toEqual(["name", "inner", "at", "number", "text"])
        expect(outer?.field.at?.message?.typeName).toBe("google.protobuf.Timestamp")
        expect(outer?.field.name?.jsonName).toBe("name")
      }))

    it.scoped("file_by_filename, and a file not known", () =>
      Effect.gen(function*() {
        const responses = yield* reflect([
          { messageRequest: { case: "fileByFilename", value: timestamp } },
          { messageRequest: { case: "fileByFilename", value: "connecteffect/reflection/v1/missing.proto" } },
          { messageRequest: { case: "fileByFilename", value: reflected } }
        ])
        expect(fileNames(responses[0])).toEqual([timestamp])
        expectNotFound(responses[1], "missing.proto")
        expect(fileNames(responses[2])).toEqual([reflected])
      }))

    it.scoped("extensions: by extendee and number, by name, and every number of a type", () =>
      Effect.gen(function*() {
        const responses = yield* reflect([
          { messageRequest: { case: "fileContainingExtension", value: { containingType: `${pkg}.Outer`, extensionNumber: 100 } } },
          { messageRequest: { case: "fileContainingExtension", value: { containingType: `${pkg}.Outer`, extensionNumber: 101 } } },
          { messageRequest: { case: "fileContainingSymbol", value: `${pkg}.tag` } },
          { messageRequest: { case: "fileContainingSymbol", value: `${pkg}.Holder.flag` } },
          { messageRequest: { case: "allExtensionNumbersOfType", value: `${pkg}.Outer` } },
          { messageRequest: { case: "allExtensionNumbersOfType", value: `${pkg}.Outer.Inner` } },
          { messageRequest: { case: "allExtensionNumbersOfType", value: `${pkg}.Nothing` } }
        ])
        expect(fileNames(responses[0])).toEqual([extensions, reflected, timestamp])
        expectNotFound(responses[1], "101")
        expect(fileNames(responses[2])).toEqual([extensions])
        expect(fileNames(responses[3])).toEqual([extensions])
        expect(responses.slice(4, 6).map((r) => r.messageResponse)).toEqual([
          { case: "allExtensionNumbersResponse", value: expect.objectContaining({ baseTypeName: `${pkg}.Outer`, extensionNumber: [100, 120, 150] }) },
          { case: "allExtensionNumbersResponse", value: expect.objectContaining({ baseTypeName: `${pkg}.Outer.Inner`, extensionNumber: [] }) }
        ])
        expectNotFound(responses[6], "Nothing")
      }))

    it.scoped("over gRPC: a full-duplex stream, each answer before the next request", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(v1, "grpc")
        const requests = yield* Queue.unbounded<Request>()
        yield* Queue.offer(requests, { messageRequest: { case: "fileContainingSymbol", value: `${pkg}.Outer` } })
        const answers: Array<ReadonlyArray<string>> = []
        yield* client.serverReflectionInfo(Stream.fromQueue(requests)).pipe(
          Stream.runForEach((response) => {
            answers.push(fileNames(response))
            return answers.length < 3
              ? Queue.offer(requests, { messageRequest: { case: "fileContainingSymbol", value: `${pkg}.Color` } })
              : Queue.shutdown(requests)
          })
        )
        expect(answers).toEqual([[reflected, timestamp], [reflected], [reflected]])
      }))

    it.scoped("v1alpha answers as v1", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(v1alpha)
        const responses = Chunk.toArray(yield* Stream.runCollect(client.serverReflectionInfo([
          { messageRequest: { case: "listServices", value: "" } },
          { messageRequest: { case: "fileContainingSymbol", value: "grpc.reflection.v1alpha.ServerReflection" } },
          { messageRequest: { case: "fileContainingSymbol", value: "grpc.reflection.v1alpha.Nope" } }
        ])))
        expect(responses.map((r) => r.$typeName)).toEqual(Array(3).fill("grpc.reflection.v1alpha.ServerReflectionResponse"))
        expect(responses[0]!.messageResponse.case === "listServicesResponse" && responses[0]!.messageResponse.value.service.length)
          .toBe(4)
        expect(fileNames(responses[1] as never)).toEqual(["grpc/reflection/v1alpha/reflection.proto"])
        expectNotFound(responses[2] as never, "grpc.reflection.v1alpha.Nope")
      }))
  })
})

describe("GrpcReflection under hostile input", () => {
  layer(ReflectionServer)((it) => {
    it.scoped("names that are not symbols (empty, dots, Object's own keys) are not found, and the stream goes on", () =>
      Effect.gen(function*() {
        const names = ["", ".", "..", `.${pkg}.Outer`, `${pkg}.Outer.`, `${pkg}`, "__proto__", "constructor", "toString", `${pkg}.Outer.Inner.Kind.KIND_A`]
        const responses = yield* reflect([
          ...names.map((value): Request => ({ messageRequest: { case: "fileContainingSymbol", value } })),
          { messageRequest: { case: "fileByFilename", value: "../../../etc/passwd" } },
          { messageRequest: { case: "fileByFilename", value: "__proto__" } },
          { messageRequest: { case: "allExtensionNumbersOfType", value: "__proto__" } },
          { messageRequest: { case: "fileContainingExtension", value: { containingType: `${pkg}.Outer`, extensionNumber: -1 } } },
          { messageRequest: { case: "listServices", value: "" } }
        ])
        expect(responses).toHaveLength(names.length + 5)
        for (const response of responses.slice(0, -1)) expectNotFound(response, "not found")
        expect(responses.at(-1)!.messageResponse.case).toBe("listServicesResponse")
      }))

    it.scoped("a huge name is not found, and the error does not echo it whole; past readMaxBytes it is refused", () =>
      Effect.gen(function*() {
        const huge = "x".repeat(1024 * 1024)
        const [response] = yield* reflect([{ messageRequest: { case: "fileContainingSymbol", value: huge } }])
        expectNotFound(response, "not found")
        expect(response!.messageResponse.case === "errorResponse" && response!.messageResponse.value.errorMessage.length)
          .toBeLessThan(300)
        const tooBig = yield* Effect.flip(reflect([{ messageRequest: { case: "fileContainingSymbol", value: "x".repeat(readMaxBytes) } }]))
        expect(tooBig.code).toBe("resource_exhausted")
      }))

    it.scoped("a long stream: 2000 requests, 2000 answers", () =>
      Effect.gen(function*() {
        const requests = Array.from({ length: 2000 }, (_, i): Request => ({
          messageRequest: i % 2 === 0
            ? { case: "listServices", value: "" }
            : { case: "fileContainingSymbol", value: `${pkg}.Outer` }
        }))
        const responses = yield* reflect(requests)
        expect(responses).toHaveLength(2000)
        expect(fileNames(responses[1])).toEqual([reflected, timestamp])
        expect(fileNames(responses[1999])).toEqual([reflected])
      }))

    it.scoped("a request asking nothing ends the stream with invalid_argument, after the answers before it", () =>
      Effect.gen(function*() {
        const client = yield* clientOf(v1)
        const received: Array<string | undefined> = []
        const error = yield* client.serverReflectionInfo([
          { messageRequest: { case: "listServices", value: "" } },
          {},
          { messageRequest: { case: "listServices", value: "" } }
        ]).pipe(Stream.runForEach((r) => Effect.sync(() => received.push(r.messageResponse.case))), Effect.flip)
        expect(received).toEqual(["listServicesResponse"])
        expect(error.code).toBe("invalid_argument")
      }))

    it.scoped("bytes that are not a request (raw HTTP/1.1): invalid_argument, after answering the valid one before", () =>
      Effect.gen(function*() {
        const { url } = yield* ConnectServer.ConnectServer
        const valid = toBinary(v1.method.serverReflectionInfo.input, create(v1.method.serverReflectionInfo.input, {
          messageRequest: { case: "listServices", value: "" }
        }))
        const response = yield* rawRequest(url, {
          path: `/${v1.typeName}/ServerReflectionInfo`,
          headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
          // field 4 (file_containing_symbol) announcing 127 bytes that never come
          body: [envelope(0, valid), envelope(0, new Uint8Array([0x22, 0x7f, 0x61]))]
        })
        expect(response.status).toBe(200)
        const { messages, end } = parseStreamBody(response.body)
        expect(messages).toHaveLength(1)
        expect(end.error.code).toBe("invalid_argument")
      }))
  })
})
