/**
 * Interop: `buf curl` (connect-go inside the @bufbuild/buf binary) against our server, over
 * HTTP/1.1, h2c and TLS with the Connect protocol and the schema read from test/proto, or from the
 * server itself by reflection (GrpcReflection, `--reflect`, over gRPC and gRPC-Web too). buf curl prints
 * response messages as JSON on stdout, errors as JSON on stderr, and exits with 8 × the
 * error's numeric code.
 */
import { fromBinary } from "@bufbuild/protobuf"
import { base64Decode } from "@bufbuild/protobuf/wire"
import { describe, expect, it, layer } from "@effect/vitest"
import { GrpcHealth, GrpcReflection } from "connect-effect"
import { ConnectServer } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { execFile, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ErrorDetailSchema, TestService } from "../gen/connecteffect/test/v1/test_pb.js"
import { ourServer } from "../support/servers.js"
import { TestServiceLive } from "../support/testService.js"
import { testCertificates } from "../support/tls.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const buf = join(root, "node_modules", ".bin", "buf")
const schema = join(root, "test", "proto")

interface Run {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  readonly elapsed: number
}

/** Runs `buf curl --protocol <protocol> ...args` to completion. */
const bufCurl = (args: ReadonlyArray<string>, protocol: "connect" | "grpc" | "grpcweb" = "connect") =>
  Effect.async<Run>((resume) => {
    const start = Date.now()
    const child = execFile(
      buf,
      ["curl", "--protocol", protocol, ...args],
      { cwd: root, timeout: 20_000 },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resume(Effect.succeed({ exitCode, stdout, stderr, elapsed: Date.now() - start }))
      }
    )
    return Effect.sync(() => child.kill())
  })

/**
 * Starts `buf curl --protocol connect ...args` for a call that stays open: its output so far,
 * and its exit code once it exits; killed with the Scope.
 */
const bufCurlRunning = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const exit = yield* Deferred.make<number>()
    let stdout = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(buf, ["curl", "--protocol", "connect", ...args], { cwd: root, stdio: ["ignore", "pipe", "inherit"] })
        child.stdout.on("data", (data: Buffer) => stdout += data.toString())
        child.on("exit", (code) => Deferred.unsafeDone(exit, Effect.succeed(code ?? -1)))
        return child
      }),
      (child) => Effect.sync(() => child.kill())
    )
    /** Waits (up to 10 s) until buf curl has printed `count` messages. */
    const printed = (count: number) =>
      Effect.suspend(() => Effect.succeed(jsonDocuments(stdout))).pipe(
        Effect.filterOrFail((docs) => docs.length >= count, () => `fewer than ${count} messages: ${stdout}`),
        Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("10 seconds")))
      )
    return { child, printed, exit: Deferred.await(exit) }
  })

/** A temporary directory, removed with the Scope. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "buf-curl-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const methodUrl = (method: string) =>
  Effect.map(ConnectServer.ConnectServer, (server) => `${server.url}/connecteffect.test.v1.TestService/${method}`)

/** buf curl prints each message as a pretty-printed JSON object starting on its own line. */
const jsonDocuments = (text: string): Array<Record<string, unknown>> =>
  text.trim() === "" ? [] : text.trim().split(/\n(?=\{)/).map((doc) => JSON.parse(doc) as Record<string, unknown>)

/** A BidiStream call over h2c (connect-go needs HTTP/2 for bidi), the schema from `schemaFlags`: both messages echoed. */
const bidiOverH2c = (schemaFlags: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const bidi = yield* bufCurl([
      "--http2-prior-knowledge",
      ...schemaFlags,
      "--data",
      [{ text: "one" }, { text: "two" }].map((m) => JSON.stringify(m)).join("\n"),
      yield* methodUrl("BidiStream")
    ])
    expect(bidi.stderr).toBe("")
    expect(jsonDocuments(bidi.stdout).map((m) => m.text)).toEqual(["one", "two"])
  })

interface ErrorJson {
  readonly code: string
  readonly message?: string
  readonly details?: ReadonlyArray<{ type: string; value: string }>
}

/** The error buf curl printed on stderr (after any verbose lines). */
const errorOf = (stderr: string): ErrorJson => {
  const start = stderr.search(/^\{/m)
  expect(start).toBeGreaterThanOrEqual(0)
  return JSON.parse(stderr.slice(start)) as ErrorJson
}

const expectErrorJson = (error: ErrorJson, code: string, text: string) => {
  expect(error.code).toBe(code)
  expect(error.message).toBe(`failed: ${text}`)
  expect(error.details?.map((d) => d.type)).toEqual(["connecteffect.test.v1.ErrorDetail"])
  const detail = fromBinary(ErrorDetailSchema, base64Decode(error.details![0]!.value))
  expect({ reason: detail.reason, attempt: detail.attempt }).toEqual({ reason: text, attempt: 1 })
}

describe("buf curl against our server", () => {
  layer(ourServer(), { excludeTestServices: true })((it) => {
    it.effect("unary", () =>
      Effect.gen(function*() {
        const run = yield* bufCurl([
          "--schema",
          schema,
          "-H",
          "x-test-a: 1",
          "--data",
          JSON.stringify({ text: "hi", payload: "AQID" }),
          yield* methodUrl("Echo")
        ])
        expect(run.stderr).toBe("")
        expect(run.exitCode).toBe(0)
        expect(jsonDocuments(run.stdout)).toEqual([{ text: "hi", payload: "AQID", headers: ["x-test-a: 1"] }])
      }))

    it.effect("unary: headers, trailers and a gzip response, as buf curl -v reports them", () =>
      Effect.gen(function*() {
        const payload = Buffer.alloc(3000).toString("base64")
        const run = yield* bufCurl([
          "-v",
          "--schema",
          schema,
          "--data",
          JSON.stringify({ text: "meta", payload }),
          yield* methodUrl("Echo")
        ])
        expect(run.exitCode).toBe(0)
        expect(jsonDocuments(run.stdout)[0]!.payload).toBe(payload)
        expect(run.stderr).toMatch(/HTTP\/1\.1 200/)
        expect(run.stderr).toMatch(/< \(#1\) X-Test-Header: meta$/im)
        expect(run.stderr).toMatch(/< \(#1\) Trailer-X-Test-Trailer: done$/im)
        expect(run.stderr).toMatch(/< \(#1\) Content-Encoding: gzip$/im)
      }))

    it.effect("server stream", () =>
      Effect.gen(function*() {
        const run = yield* bufCurl([
          "--schema",
          schema,
          "--data",
          JSON.stringify({ text: "s", count: 3, size: 2 }),
          yield* methodUrl("ServerStream")
        ])
        expect(run.stderr).toBe("")
        expect(run.exitCode).toBe(0)
        expect(jsonDocuments(run.stdout)).toEqual([
          { text: "s 0", payload: "AAA=" },
          { text: "s 1", payload: "AQE=" },
          { text: "s 2", payload: "AgI=" }
        ])
      }))

    it.effect("server stream: headers first, trailers in the end-of-stream message", () =>
      Effect.gen(function*() {
        const run = yield* bufCurl([
          "-v",
          "--schema",
          schema,
          "--data",
          JSON.stringify({ text: "meta", count: 2, size: 2000 }),
          yield* methodUrl("ServerStream")
        ])
        expect(run.exitCode).toBe(0)
        expect(jsonDocuments(run.stdout).map((m) => m.text)).toEqual(["meta 0", "meta 1"])
        expect(run.stderr).toMatch(/< \(#1\) X-Test-Header: meta$/im)
        expect(run.stderr).toMatch(/< \(#1\) Connect-Content-Encoding: gzip$/im)
        // trailers come after the body, marked [*] by buf curl
        const trailer = run.stderr.search(/\[\*\] X-Test-Trailer: done$/im)
        expect(trailer).toBeGreaterThan(run.stderr.search(/X-Test-Header: meta/i))
      }))

    it.effect("client stream", () =>
      Effect.gen(function*() {
        const run = yield* bufCurl([
          "--schema",
          schema,
          "-H",
          "x-test-b: two",
          "--data",
          `${JSON.stringify({ text: "a" })} ${JSON.stringify({ text: "b" })} ${JSON.stringify({ text: "c" })}`,
          yield* methodUrl("ClientStream")
        ])
        expect(run.stderr).toBe("")
        expect(run.exitCode).toBe(0)
        expect(jsonDocuments(run.stdout)).toEqual([{ text: "a,b,c", headers: ["x-test-b: two"] }])
      }))

    it.effect("unary error: non-zero exit (8 × code), the code, message and details", () =>
      Effect.gen(function*() {
        const url = yield* methodUrl("Echo")
        const notFound = yield* bufCurl(["--schema", schema, "--data", JSON.stringify({ text: "no", failWith: "not_found" }), url])
        expect(notFound.stdout).toBe("")
        expect(notFound.exitCode).toBe(5 * 8)
        expectErrorJson(errorOf(notFound.stderr), "not_found", "no")
        const denied = yield* bufCurl(["--schema", schema, "--data", JSON.stringify({ text: "x", failWith: "permission_denied" }), url])
        expect(denied.exitCode).toBe(7 * 8)
        expectErrorJson(errorOf(denied.stderr), "permission_denied", "x")
      }))

    it.effect("server stream error after messages", () =>
      Effect.gen(function*() {
        const run = yield* bufCurl([
          "--schema",
          schema,
          "--data",
          JSON.stringify({ text: "late", count: 2, failWith: "aborted" }),
          yield* methodUrl("ServerStream")
        ])
        expect(jsonDocuments(run.stdout).map((m) => m.text)).toEqual(["late 0", "late 1"])
        expect(run.exitCode).toBe(10 * 8)
        expectErrorJson(errorOf(run.stderr), "aborted", "late")
      }))

    it.effect("client stream error", () =>
      Effect.gen(function*() {
        const run = yield* bufCurl([
          "--schema",
          schema,
          "--data",
          `${JSON.stringify({ text: "a" })} ${JSON.stringify({ text: "b", failWith: "already_exists" })}`,
          yield* methodUrl("ClientStream")
        ])
        expect(run.exitCode).toBe(6 * 8)
        expectErrorJson(errorOf(run.stderr), "already_exists", "a,b")
      }))

    it.effect("a timeout: deadline_exceeded long before the handler would answer", () =>
      Effect.gen(function*() {
        const run = yield* bufCurl([
          "--schema",
          schema,
          "--timeout",
          "500ms",
          "--data",
          JSON.stringify({ text: "slow", delayMs: 5000 }),
          yield* methodUrl("Echo")
        ])
        expect(run.exitCode).toBe(4 * 8)
        expect(errorOf(run.stderr).code).toBe("deadline_exceeded")
        expect(run.elapsed).toBeLessThan(3000)
      }))

    it.scoped("a service we do not serve is unimplemented", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        writeFileSync(
          join(dir, "missing.proto"),
          [
            "syntax = \"proto3\";",
            "package connecteffect.test.v1;",
            "message Ping { string text = 1; }",
            "service MissingService { rpc Echo(Ping) returns (Ping) {} }"
          ].join("\n")
        )
        const { url } = yield* ConnectServer.ConnectServer
        const run = yield* bufCurl([
          "--schema",
          dir,
          "--data",
          JSON.stringify({ text: "?" }),
          `${url}/connecteffect.test.v1.MissingService/Echo`
        ])
        expect(run.exitCode).toBe(12 * 8)
        expect(errorOf(run.stderr).code).toBe("unimplemented")
      }))
  })
})

describe("buf curl against our server over HTTP/2", () => {
  layer(ourServer(), { excludeTestServices: true })((it) => {
    it.effect("h2c with prior knowledge: unary, and a bidi stream (which needs HTTP/2 with connect-go)", () =>
      Effect.gen(function*() {
        const unary = yield* bufCurl([
          "-v",
          "--http2-prior-knowledge",
          "--schema",
          schema,
          "--data",
          JSON.stringify({ text: "over h2c" }),
          yield* methodUrl("Echo")
        ])
        expect(unary.exitCode).toBe(0)
        expect(unary.stderr).toMatch(/HTTP\/2\.0 200/)
        expect(jsonDocuments(unary.stdout)[0]!.text).toBe("over h2c")
        yield* bidiOverH2c(["--schema", schema])
      }))
  })

  it.scoped("TLS with a client certificate: ALPN h2", () =>
    Effect.gen(function*() {
      const certs = testCertificates()
      const dir = yield* tempDir
      const file = (name: string, text: string) => {
        writeFileSync(join(dir, name), text)
        return join(dir, name)
      }
      const context = yield* Layer.build(ourServer({
        tls: { cert: certs.serverCert, key: certs.serverKey, clientCertificates: { ca: certs.ca } }
      }))
      const { url } = Context.get(context, ConnectServer.ConnectServer)
      const run = yield* bufCurl([
        "-v",
        "--cacert",
        file("ca.pem", certs.ca),
        "--cert",
        file("client.pem", certs.clientCert),
        "--key",
        file("client.key", certs.clientKey),
        "--schema",
        schema,
        "--data",
        JSON.stringify({ text: "over TLS" }),
        `${url}/connecteffect.test.v1.TestService/Echo`
      ])
      expect(run.exitCode).toBe(0)
      expect(run.stderr).toMatch(/HTTP\/2\.0 200/)
      expect(jsonDocuments(run.stdout)[0]!.text).toBe("over TLS")
    }))
})

describe.each([
  { protocol: "grpc", flags: ["--http2-prior-knowledge"] },
  { protocol: "grpcweb", flags: [] },
  { protocol: "grpcweb", flags: ["--http2-prior-knowledge"] }
] as const)("buf curl --protocol $protocol $flags against our server", ({ flags, protocol }) => {
  layer(ourServer(), { excludeTestServices: true })((it) => {
    const curl = (args: ReadonlyArray<string>) => bufCurl([...flags, "--schema", schema, ...args], protocol)

    it.effect("unary, with the headers and trailers buf curl -v reports", () =>
      Effect.gen(function*() {
        const run = yield* curl(["-v", "-H", "x-test-a: 1", "--data", JSON.stringify({ text: "hi" }), yield* methodUrl("Echo")])
        expect(run.exitCode).toBe(0)
        expect(jsonDocuments(run.stdout)).toEqual([{ text: "hi", headers: ["x-test-a: 1"] }])
        // The headers, then after the body the trailers (buf curl -v shows gRPC's HTTP trailers,
        // not gRPC-Web's last frame: the error cases below prove those are read).
        const parts = run.stderr.split(/\{ \(#1\) \[\d+ bytes data\]/)
        expect(parts[0]).toMatch(/< \(#1\) X-Test-Header: hi/)
        if (protocol === "grpc") expect(parts[parts.length - 1]).toMatch(/< \(#1\) Grpc-Status: 0\s[\s\S]*< \(#1\) X-Test-Trailer: done/)
      }))

    it.effect("server stream and bidi stream", () =>
      Effect.gen(function*() {
        const streamed = yield* curl(["--data", JSON.stringify({ text: "s", count: 3 }), yield* methodUrl("ServerStream")])
        expect(streamed.stderr).toBe("")
        expect(jsonDocuments(streamed.stdout).map((m) => m.text)).toEqual(["s 0", "s 1", "s 2"])
        const bidi = yield* curl(["--data", [{ text: "one" }, { text: "two" }].map((m) => JSON.stringify(m)).join("\n"), yield* methodUrl(flags.length === 0 ? "ClientStream" : "BidiStream")])
        expect(bidi.stderr).toBe("")
        expect(jsonDocuments(bidi.stdout).map((m) => m.text)).toEqual(flags.length === 0 ? ["one,two"] : ["one", "two"])
      }))

    it.effect("errors: code, message and details, unary and after stream messages", () =>
      Effect.gen(function*() {
        const unary = yield* curl(["--data", JSON.stringify({ text: "no", failWith: "not_found" }), yield* methodUrl("Echo")])
        expect(unary.exitCode).toBe(5 * 8)
        expectErrorJson(errorOf(unary.stderr), "not_found", "no")
        const stream = yield* curl(["--data", JSON.stringify({ text: "st", count: 2, failWith: "aborted" }), yield* methodUrl("ServerStream")])
        expect(jsonDocuments(stream.stdout).map((m) => m.text)).toEqual(["st 0", "st 1"])
        expectErrorJson(errorOf(stream.stderr), "aborted", "st")
      }))
  })
})

describe("buf curl --reflect against our server (GrpcReflection and GrpcHealth)", () => {
  const services = [TestService, GrpcHealth.Health, ...GrpcReflection.services] as const
  const ReflectingServer = ConnectServer.layer({ services }).pipe(
    Layer.provideMerge(
      Layer.mergeAll(TestServiceLive, GrpcHealth.layer({ services: [TestService] }), GrpcReflection.layer(services))
    )
  )
  const names = services.map((s) => s.typeName).sort()

  layer(ReflectingServer, { excludeTestServices: true })((it) => {
    it.effect("lists the services and methods, over HTTP/1.1 and h2c, by v1 and by v1alpha, in Connect, gRPC and gRPC-Web", () =>
      Effect.gen(function*() {
        const { url } = yield* ConnectServer.ConnectServer
        const variants = [
          [],
          ["--http2-prior-knowledge"],
          ["--reflect-protocol", "grpc-v1alpha"],
          // a later --protocol overrides bufCurl's
          ["--protocol", "grpc", "--http2-prior-knowledge"],
          ["--protocol", "grpcweb"]
        ]
        for (const extra of variants) {
          const list = yield* bufCurl(["--reflect", ...extra, "--list-services", url])
          expect(list.stderr).toBe("")
          expect(list.exitCode).toBe(0)
          expect(list.stdout.trim().split("\n")).toEqual(names)
        }
        const methods = yield* bufCurl(["--reflect", "--list-methods", url])
        expect(methods.exitCode).toBe(0)
        expect(methods.stdout.trim().split("\n")).toEqual([
          ...TestService.methods.map((m) => `${TestService.typeName}/${m.name}`).sort(),
          "grpc.health.v1.Health/Check",
          "grpc.health.v1.Health/List",
          "grpc.health.v1.Health/Watch",
          "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
          "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        ])
      }))

    it.effect("calls with no schema file: unary, and bidi over h2c", () =>
      Effect.gen(function*() {
        const echo = yield* bufCurl(["--reflect", "--data", JSON.stringify({ text: "by reflection", payload: "AQID" }), yield* methodUrl("Echo")])
        expect(echo.stderr).toBe("")
        expect(jsonDocuments(echo.stdout)).toEqual([{ text: "by reflection", payload: "AQID" }])
        yield* bidiOverH2c(["--reflect"])
      }))

    it.effect("a service or method the server does not describe", () =>
      Effect.gen(function*() {
        const { url } = yield* ConnectServer.ConnectServer
        const service = yield* bufCurl(["--reflect", "--data", "{}", `${url}/connecteffect.test.v1.Missing/Echo`])
        expect(service.exitCode).not.toBe(0)
        expect(service.stderr).toMatch(/failed to find service named "connecteffect\.test\.v1\.Missing"/)
        const method = yield* bufCurl(["--reflect", "--data", "{}", `${url}/${TestService.typeName}/Missing`])
        expect(method.exitCode).not.toBe(0)
        expect(method.stderr).toMatch(/contains no such method/)
      }))

    it.effect("health: Check, and not_found for a service it does not know (in Connect and gRPC)", () =>
      Effect.gen(function*() {
        const { url } = yield* ConnectServer.ConnectServer
        const check = yield* bufCurl(["--reflect", "--data", JSON.stringify({ service: TestService.typeName }), `${url}/grpc.health.v1.Health/Check`])
        expect(check.exitCode).toBe(0)
        expect(jsonDocuments(check.stdout)).toEqual([{ status: "SERVING" }])
        for (const protocol of [[], ["--protocol", "grpc", "--http2-prior-knowledge"]]) {
          const unknown = yield* bufCurl([...protocol, "--reflect", "--data", JSON.stringify({ service: "nope" }), `${url}/grpc.health.v1.Health/Check`])
          expect(unknown.exitCode).toBe(5 * 8)
          expect(errorOf(unknown.stderr)).toEqual({ code: "not_found", message: "unknown service \"nope\"" })
        }
      }))

    it.scoped("health: Watch prints each change, and ends (OK) when health shuts down", () =>
      Effect.gen(function*() {
        const { url } = yield* ConnectServer.ConnectServer
        const health = yield* GrpcHealth.GrpcHealth
        const watch = yield* bufCurlRunning(["--reflect", "--data", JSON.stringify({ service: TestService.typeName }), `${url}/grpc.health.v1.Health/Watch`])
        yield* watch.printed(1)
        yield* health.setStatus(TestService, "not_serving")
        yield* watch.printed(2)
        yield* health.setStatus(TestService, "serving")
        yield* watch.printed(3)
        yield* health.shutdown
        expect(yield* watch.exit).toBe(0)
        expect(yield* watch.printed(4)).toEqual(["SERVING", "NOT_SERVING", "SERVING", "NOT_SERVING"].map((status) => ({ status })))
        yield* health.resume
      }))
  })
})
