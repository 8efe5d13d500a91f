/**
 * Conversions between the conformance protocol's messages (Header, Error, Any) and the
 * library's types (Headers, ConnectError, ErrorDetail).
 */
import { create } from "@bufbuild/protobuf"
import { type Any, AnySchema } from "@bufbuild/protobuf/wkt"
import type * as Headers from "@effect/platform/Headers"
import { Code, ConnectError } from "connect-effect"
import type { Code as ProtoCode } from "./gen/connectrpc/conformance/v1/config_pb.js"
import { type Error as ProtoError, ErrorSchema, type Header, HeaderSchema } from "./gen/connectrpc/conformance/v1/service_pb.js"

const typeUrlPrefix = "type.googleapis.com/"

/** Headers as the runner reports them: one entry per name, values as received. */
export const toProtoHeaders = (headers: Headers.Headers | globalThis.Headers): Array<Header> => {
  const entries = headers instanceof globalThis.Headers ? [...headers.entries()] : Object.entries(headers)
  return entries.map(([name, value]) => create(HeaderSchema, { name, value: [value] }))
}

/** Request headers to send; the values of a repeated name are all kept (joined with ", " on the wire). */
export const toHeadersInput = (headers: ReadonlyArray<Header>): Headers.Input => {
  const input: Record<string, Array<string>> = {}
  for (const header of headers) (input[header.name.toLowerCase()] ??= []).push(...header.value)
  return input
}

/** Appends every value of `headers` to `target` (a handler's response headers or trailers). */
export const appendHeaders = (target: globalThis.Headers, headers: ReadonlyArray<Header>): void => {
  for (const header of headers) {
    for (const value of header.value) target.append(header.name, value)
  }
}

/** An Any as an error detail: its type name without the URL prefix, and its bytes. */
const toErrorDetail = (any: Any): ConnectError.ErrorDetail => ({
  type: any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1),
  value: any.value
})

/** An error detail as an Any. */
const toAny = (detail: ConnectError.ErrorDetail): Any =>
  create(AnySchema, { typeUrl: typeUrlPrefix + detail.type, value: detail.value })

/** The ConnectError a handler raises for an error in a response definition, with extra details appended. */
export const fromProtoError = (error: ProtoError, extraDetails: ReadonlyArray<ConnectError.ErrorDetail>): ConnectError.ConnectError =>
  ConnectError.make(Code.fromNumber(error.code) ?? "unknown", error.message ?? "", {
    details: [...error.details.map(toErrorDetail), ...extraDetails]
  })

/** A received ConnectError as the runner expects it. */
export const toProtoError = (error: ConnectError.ConnectError): ProtoError =>
  create(ErrorSchema, {
    code: Code.toNumber(error.code) as ProtoCode,
    message: error.message,
    details: error.details.map(toAny)
  })
