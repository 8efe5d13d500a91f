/**
 * The Connect JSON error (unary error bodies) and EndStreamResponse (the last envelope of a
 * stream): round trips with details and metadata, and the fallbacks for whatever else a
 * peer might send (https://connectrpc.com/docs/protocol#error-end-stream).
 */
import * as Headers from "@effect/platform/Headers"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { Buffer } from "node:buffer"
import { Code, ConnectError } from "connect-effect"
import {
  endStreamFromJsonBytes,
  endStreamToJsonBytes,
  errorFromJson,
  errorFromJsonBytes,
  errorToJson,
  errorToJsonBytes
} from "../src/internal/connect/errorJson.js"

const enc = new TextEncoder()
const bytesOf = (json: unknown) => enc.encode(typeof json === "string" ? json : JSON.stringify(json))

const check = (property: fc.IProperty<any>, numRuns = 300) => Effect.sync(() => fc.assert(property, { numRuns }))

const codeArb = fc.constantFrom(...Code.all)
// Any UTF-16, lone surrogates included: JSON.stringify escapes them.
const messageArb = fc.string({ unit: "binary", maxLength: 60 })
const jsonArb = fc.jsonValue({ maxDepth: 2 })
const detailArb = fc.record(
  { type: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_.]{0,30}$/), value: fc.uint8Array({ maxLength: 64 }), debug: jsonArb },
  { requiredKeys: ["type", "value"] }
)
const headerNameArb = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,15}$/).filter((n) =>
  !["__proto__", "constructor", "prototype"].includes(n)
)
// ASCII-Value: printable ASCII; no surrounding spaces, which HTTP does not keep either.
const headerValueArb = fc.stringMatching(/^[!-~]([ -~]{0,20}[!-~])?$/)
const metadataArb = fc.dictionary(headerNameArb, headerValueArb, { maxKeys: 5 })

const errorArb = fc.record({ code: codeArb, message: messageArb, details: fc.array(detailArb, { maxLength: 3 }) })

const plainDetails = (details: ReadonlyArray<ConnectError.ErrorDetail>) =>
  details.map((d) => ({ type: d.type, value: Array.from(d.value), ...(d.debug === undefined ? {} : { debug: d.debug }) }))

/** What a detail's debug becomes after JSON (-0 is 0, say). */
const viaJson = (u: unknown) => u === undefined ? undefined : JSON.parse(JSON.stringify(u))

const expectThrowsCode = (f: () => unknown, code: Code.Code) => {
  let thrown: unknown = undefined
  try {
    f()
  } catch (e) {
    thrown = e
  }
  expect(ConnectError.isConnectError(thrown), `expected a ConnectError, got ${String(thrown)}`).toBe(true)
  expect((thrown as ConnectError.ConnectError).code).toBe(code)
}

describe("Connect error JSON", () => {
  it.effect("errorToJsonBytes then errorFromJsonBytes keeps code, message and details", () =>
    check(fc.property(errorArb, metadataArb, ({ code, details, message }, metadata) => {
      const error = ConnectError.make(code, message, { details })
      const headers = Headers.fromInput(metadata)
      const back = errorFromJsonBytes(errorToJsonBytes(error), headers)
      expect(back).toBeDefined()
      expect(back!.code).toBe(code)
      expect(back!.message).toBe(message)
      expect(plainDetails(back!.details)).toEqual(
        plainDetails(details.map((d) => ({ ...d, ...(d.debug === undefined ? {} : { debug: viaJson(d.debug) }) })))
      )
      expect(back!.metadata).toEqual(headers)
    })))

  it.effect("errorToJson: code always, message only when not empty, details as unpadded standard base64", () =>
    check(fc.property(errorArb, ({ code, details, message }) => {
      const json = errorToJson(ConnectError.make(code, message, { details }))
      expect(json.code).toBe(code)
      expect("message" in json).toBe(message !== "")
      expect("details" in json).toBe(details.length > 0)
      for (const [i, d] of (json.details ?? []).entries()) {
        expect(d.value).toMatch(/^[A-Za-z0-9+/]*$/)
        expect(d.value).toBe(Buffer.from(details[i]!.value).toString("base64").replace(/=+$/, ""))
        expect(d.type).toBe(details[i]!.type)
      }
      // The wire form is plain JSON.
      expect(JSON.parse(new TextDecoder().decode(errorToJsonBytes(ConnectError.make(code, message, { details }))))).toEqual(
        JSON.parse(JSON.stringify(json))
      )
    })))

  it.effect("a detail's value is read in base64 with or without padding, standard or URL-safe", () =>
    check(fc.property(fc.uint8Array({ maxLength: 40 }), (value) => {
      const std = Buffer.from(value).toString("base64")
      const forms = [std, std.replace(/=+$/, ""), Buffer.from(value).toString("base64url")]
      for (const form of forms) {
        const error = errorFromJson({ code: "unavailable", details: [{ type: "x.Y", value: form }] }, Headers.empty)
        expect([form, error?.details.map((d) => Array.from(d.value))]).toEqual([form, [Array.from(value)]])
      }
    })))

  it.effect("the spec's example detail decodes (\"CgIIPA\" and \"CgIIPA==\")", () =>
    Effect.sync(() => {
      for (const value of ["CgIIPA", "CgIIPA=="]) {
        const error = errorFromJson({
          code: "unavailable",
          message: "overloaded: back off and retry",
          details: [{ type: "google.rpc.RetryInfo", value, debug: { retryDelay: "30s" } }]
        }, Headers.empty)!
        expect(error.code).toBe("unavailable")
        expect(plainDetails(error.details)).toEqual([{ type: "google.rpc.RetryInfo", value: [10, 2, 8, 60], debug: { retryDelay: "30s" } }])
      }
    }))

  describe("malformed error bodies", () => {
    it.effect("bytes that are not JSON, or JSON that is not an object, give undefined (fall back to the HTTP status)", () =>
      Effect.sync(() => {
        for (const body of ["", "{", "<html>502 Bad Gateway</html>", "\u0000\u0001", "null", "[]", "[{\"code\":\"internal\"}]", "\"internal\"", "42", "true"]) {
          expect([body, errorFromJsonBytes(bytesOf(body), Headers.empty)]).toEqual([body, undefined])
          expect([body, errorFromJsonBytes(bytesOf(body), Headers.empty, "unavailable")]).toEqual([body, undefined])
        }
        expect(errorFromJsonBytes(new Uint8Array([0xff, 0xfe, 0x00]), Headers.empty, "unknown")).toBeUndefined()
      }))

    it.effect("a missing, null, non-string or unknown code gives the fallback code, or undefined without one", () =>
      Effect.sync(() => {
        for (const json of [{}, { code: null }, { code: 5 }, { code: "bogus" }, { code: "CANCELED" }, { code: "ok" }, { message: "m" }]) {
          expect(errorFromJson(json, Headers.empty)).toBeUndefined()
          const fallback = errorFromJson(json, Headers.empty, "unavailable")
          expect([json, fallback?.code]).toEqual([json, "unavailable"])
        }
        expect(errorFromJson({ code: "bogus", message: "kept" }, Headers.empty, "unknown")?.message).toBe("kept")
      }))

    it.effect("a non-string message is dropped, a known code is kept", () =>
      Effect.sync(() => {
        for (const message of [null, 1, {}, ["a"], true]) {
          const error = errorFromJson({ code: "not_found", message }, Headers.empty)!
          expect([error.code, error.message]).toEqual(["not_found", ""])
        }
      }))

    it.effect("details of the wrong shape or with invalid base64 are dropped, the others kept", () =>
      Effect.sync(() => {
        expect(errorFromJson({ code: "aborted", details: "nope" }, Headers.empty)!.details).toEqual([])
        expect(errorFromJson({ code: "aborted", details: { type: "a", value: "" } }, Headers.empty)!.details).toEqual([])
        const error = errorFromJson({
          code: "aborted",
          details: [
            null,
            "x",
            [],
            { type: "a.B" },
            { value: "AAEC" },
            { type: 1, value: "AAEC" },
            { type: "a.B", value: 12 },
            { type: "a.B", value: "@@@@" },
            { type: "a.B", value: "A" }, // a single base64 character cannot encode a byte
            { type: "ok.Kept", value: "AAEC" }
          ]
        }, Headers.empty)!
        expect(error.code).toBe("aborted")
        expect(plainDetails(error.details)).toEqual([{ type: "ok.Kept", value: [0, 1, 2] }])
      }))

    it.effect("errorFromJson never throws, and gives a valid code or undefined, whatever the JSON", () =>
      check(fc.property(fc.oneof(jsonArb, fc.anything()), fc.option(codeArb, { nil: undefined }), (json, fallback) => {
        const error = errorFromJson(json, Headers.empty, fallback)
        return error === undefined || Code.isCode(error.code)
      }), 1000))

    it.effect("errorFromJsonBytes never throws, whatever the bytes", () =>
      check(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const error = errorFromJsonBytes(bytes, Headers.empty, "unknown")
        return error === undefined || Code.isCode(error.code)
      }), 1000))
  })

  describe("EndStreamResponse", () => {
    it.effect("trailers and error round trip; the error's metadata joins the trailers", () =>
      check(fc.property(metadataArb, fc.option(fc.tuple(errorArb, metadataArb), { nil: undefined }), (trailers, failed) => {
        const error = failed === undefined
          ? undefined
          : ConnectError.make(failed[0].code, failed[0].message, { details: failed[0].details, metadata: failed[1] })
        const end = endStreamFromJsonBytes(endStreamToJsonBytes(Headers.fromInput(trailers), error))
        const expected = Headers.fromInput({ ...trailers, ...failed?.[1] })
        expect(end.trailers).toEqual(expected)
        if (error === undefined) {
          expect(end.error).toBeUndefined()
        } else {
          expect(end.error?.code).toBe(error.code)
          expect(end.error?.message).toBe(error.message)
          expect(plainDetails(end.error!.details).map((d) => ({ ...d, debug: undefined }))).toEqual(
            plainDetails(error.details).map((d) => ({ ...d, debug: undefined }))
          )
          expect(end.error?.metadata).toEqual(expected)
        }
      })))

    it.effect("a successful end of stream is {} at its simplest", () =>
      Effect.sync(() => {
        expect(new TextDecoder().decode(endStreamToJsonBytes(Headers.empty, undefined))).toBe("{}")
        const end = endStreamFromJsonBytes(bytesOf("{}"))
        expect(end.error).toBeUndefined()
        expect(end.trailers).toEqual(Headers.empty)
      }))

    it.effect("metadata values are lists; several values are joined with commas", () =>
      Effect.sync(() => {
        const end = endStreamFromJsonBytes(bytesOf({ metadata: { "acme-cost": ["237"], multi: ["a", "b"], empty: [] } }))
        expect(end.trailers["acme-cost"]).toBe("237")
        expect(end.trailers["multi"]).toBe("a, b")
      }))

    it.effect("the spec's failed-stream example gives the error with the trailers as metadata", () =>
      Effect.sync(() => {
        const end = endStreamFromJsonBytes(bytesOf({ error: { code: "unavailable" }, metadata: { "acme-operation-cost": ["237"] } }))
        expect(end.error?.code).toBe("unavailable")
        expect(end.error?.message).toBe("")
        expect(end.error?.metadata["acme-operation-cost"]).toBe("237")
      }))

    it.effect("an error without a valid code is `unknown` (as connect-es), `error: null` is success (as connect-es)", () =>
      Effect.sync(() => {
        expect(endStreamFromJsonBytes(bytesOf({ error: {} })).error?.code).toBe("unknown")
        expect(endStreamFromJsonBytes(bytesOf({ error: { code: null } })).error?.code).toBe("unknown")
        expect(endStreamFromJsonBytes(bytesOf({ error: { code: "bogus", message: "m" } })).error?.message).toBe("m")
        expect(endStreamFromJsonBytes(bytesOf({ error: null })).error).toBeUndefined()
      }))

    it.effect("malformed end-stream messages fail with unknown", () =>
      Effect.sync(() => {
        for (
          const body of [
            "",
            "{",
            "not json",
            "null",
            "[]",
            "42",
            "\"error\"",
            { metadata: null },
            { metadata: [] },
            { metadata: "a" },
            { metadata: { a: "not-a-list" } },
            { metadata: { a: [1] } },
            { metadata: { a: ["ok", null] } },
            { error: "unavailable" },
            { error: [] },
            { error: 14 }
          ]
        ) {
          expectThrowsCode(() => endStreamFromJsonBytes(bytesOf(body)), "unknown")
        }
        expectThrowsCode(() => endStreamFromJsonBytes(new Uint8Array([0xff, 0x00, 0x7b])), "unknown")
      }))

    it.effect("endStreamFromJsonBytes either succeeds or throws a ConnectError, whatever the input", () =>
      check(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), jsonArb.map(bytesOf), fc.record({ error: jsonArb, metadata: jsonArb }).map(bytesOf)), (bytes) => {
        try {
          const end = endStreamFromJsonBytes(bytes)
          return end.error === undefined || Code.isCode(end.error.code)
        } catch (e) {
          return ConnectError.isConnectError(e) && e.code === "unknown"
        }
      }), 1000))
  })
})
