/**
 * A mutator over valid bytes: flips, insertions, deletions, cuts and repeats at arbitrary
 * offsets. Inputs that are almost right get past the first checks and reach the code behind
 * them, which random bytes rarely do.
 */
import fc from "fast-check"

type Mutation =
  | { readonly op: "flip"; readonly at: number; readonly bit: number }
  | { readonly op: "set"; readonly at: number; readonly byte: number }
  | { readonly op: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: "delete"; readonly at: number; readonly length: number }
  | { readonly op: "cut"; readonly at: number }
  | { readonly op: "repeat"; readonly at: number; readonly length: number; readonly times: number }

const at = fc.nat()
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("set" as const), at, byte: fc.constantFrom(0x00, 0x7f, 0x80, 0xff, 0x0d, 0x0a, 0x3a, 0x20) }),
  fc.record({ op: fc.constant("insert" as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant("delete" as const), at, length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant("cut" as const), at }),
  fc.record({ op: fc.constant("repeat" as const), at, length: fc.integer({ min: 1, max: 16 }), times: fc.integer({ min: 2, max: 64 }) })
)

const apply = (bytes: Uint8Array, m: Mutation): Uint8Array => {
  if (bytes.byteLength === 0) return m.op === "insert" ? m.bytes : bytes
  const i = m.at % bytes.byteLength
  const out = Array.from(bytes)
  switch (m.op) {
    case "flip":
      out[i] = out[i]! ^ (1 << m.bit)
      break
    case "set":
      out[i] = m.byte
      break
    case "insert":
      out.splice(i, 0, ...m.bytes)
      break
    case "delete":
      out.splice(i, m.length)
      break
    case "cut":
      out.length = i
      break
    case "repeat": {
      const piece = out.slice(i, i + m.length)
      out.splice(i, 0, ...Array.from({ length: m.times - 1 }, () => piece).flat())
    }
  }
  return Uint8Array.from(out)
}

/** `valid` with one to four mutations. */
export const mutated = (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([bytes, ms]) => ms.reduce(apply, bytes))
