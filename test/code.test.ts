/**
 * The code tables of src/Code.ts against the Connect specification
 * (https://connectrpc.com/docs/protocol#error-codes and #http-to-error-code).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { Code } from "connect-effect"

/** The spec's "Error Codes" table, with the gRPC numbers. */
const specTable: ReadonlyArray<readonly [Code.Code, number, number]> = [
  ["canceled", 1, 499],
  ["unknown", 2, 500],
  ["invalid_argument", 3, 400],
  ["deadline_exceeded", 4, 504],
  ["not_found", 5, 404],
  ["already_exists", 6, 409],
  ["permission_denied", 7, 403],
  ["resource_exhausted", 8, 429],
  ["failed_precondition", 9, 400],
  ["aborted", 10, 409],
  ["out_of_range", 11, 400],
  ["unimplemented", 12, 501],
  ["internal", 13, 500],
  ["unavailable", 14, 503],
  ["data_loss", 15, 500],
  ["unauthenticated", 16, 401]
]

/** The spec's "HTTP to Error Code" table; every other status is `unknown`. */
const httpToCode: ReadonlyMap<number, Code.Code> = new Map([
  [400, "internal"],
  [401, "unauthenticated"],
  [403, "permission_denied"],
  [404, "unimplemented"],
  [429, "unavailable"],
  [502, "unavailable"],
  [503, "unavailable"],
  [504, "unavailable"]
])

const codeArb = fc.constantFrom(...Code.all)

const check = (property: fc.IProperty<any>, numRuns = 500) => Effect.sync(() => fc.assert(property, { numRuns }))

describe("Code", () => {
  it.effect("all lists the 16 codes once each, in gRPC number order", () =>
    Effect.sync(() => {
      expect(Code.all).toEqual(specTable.map(([code]) => code))
      expect(new Set(Code.all).size).toBe(16)
    }))

  it.effect("toHttpStatus follows the spec's table for every code", () =>
    Effect.sync(() => {
      for (const [code, , status] of specTable) expect([code, Code.toHttpStatus(code)]).toEqual([code, status])
    }))

  it.effect("toNumber gives the gRPC number of every code", () =>
    Effect.sync(() => {
      for (const [code, number] of specTable) expect([code, Code.toNumber(code)]).toEqual([code, number])
    }))

  it.effect("fromNumber(toNumber(code)) is code", () => check(fc.property(codeArb, (code) => Code.fromNumber(Code.toNumber(code)) === code)))

  it.effect("toNumber(fromNumber(n)) is n for 1..16, and fromNumber is undefined for anything else", () =>
    check(fc.property(
      fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double(), fc.constantFrom(0, 17, -0, 1.5, NaN, Infinity)),
      (n) => {
        const code = Code.fromNumber(n)
        if (Number.isInteger(n) && n >= 1 && n <= 16) return code !== undefined && Code.toNumber(code) === n
        return code === undefined
      }
    )))

  it.effect("fromHttpStatus follows the spec's HTTP-to-code table, unknown for every other status", () =>
    check(fc.property(fc.oneof(fc.integer({ min: 100, max: 599 }), fc.constantFrom(...httpToCode.keys())), (status) =>
      Code.fromHttpStatus(status) === (httpToCode.get(status) ?? "unknown")), 2000))

  it.effect("fromHttpStatus of the status of a code is a code (never throws)", () =>
    check(fc.property(codeArb, (code) => Code.isCode(Code.fromHttpStatus(Code.toHttpStatus(code))))))

  it.effect("fromHttpStatus does not invert toHttpStatus where the spec says so (400 is internal, 404 unimplemented)", () =>
    Effect.sync(() => {
      expect(Code.fromHttpStatus(Code.toHttpStatus("invalid_argument"))).toBe("internal")
      expect(Code.fromHttpStatus(Code.toHttpStatus("not_found"))).toBe("unimplemented")
      expect(Code.fromHttpStatus(Code.toHttpStatus("resource_exhausted"))).toBe("unavailable")
      expect(Code.fromHttpStatus(Code.toHttpStatus("unimplemented"))).toBe("unknown")
      expect(Code.fromHttpStatus(200)).toBe("unknown")
    }))

  it.effect("isCode accepts exactly the 16 code names", () =>
    Effect.sync(() => {
      for (const code of Code.all) expect(Code.isCode(code)).toBe(true)
      for (
        const other of ["", "CANCELED", "Canceled", "cancelled", " canceled", "canceled ", "ok", "OK", "toString", "__proto__",
          "constructor", "hasOwnProperty"]
      ) {
        expect([other, Code.isCode(other)]).toEqual([other, false])
      }
    }))

  it.effect("isCode is false for any other string and for non-strings", () =>
    check(fc.property(fc.oneof(fc.string(), fc.anything()), (value) => Code.isCode(value) === (Code.all as ReadonlyArray<unknown>).includes(value))))

  it.effect("isCode is false for numbers and boxed strings of codes", () =>
    Effect.sync(() => {
      expect(Code.isCode(1)).toBe(false)
      expect(Code.isCode(new String("canceled"))).toBe(false)
      expect(Code.isCode(["canceled"])).toBe(false)
      expect(Code.isCode(null)).toBe(false)
      expect(Code.isCode(undefined)).toBe(false)
    }))
})
