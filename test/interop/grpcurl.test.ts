/**
 * grpcurl, the gRPC tool most people reach for, against our server with no schema file: it
 * lists and describes services through GrpcReflection and calls over gRPC (h2c). grpcurl is
 * installed with `go install` into .tools/bin on first use, at the pinned version.
 */
import { describe, expect, layer } from "@effect/vitest"
import { GrpcHealth, GrpcReflection } from "connect-effect"
import { ConnectServer } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFile, execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { TestService } from "../gen/connecteffect/test/v1/test_pb.js"
import { TestServiceLive } from "../support/testService.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const bin = join(root, ".tools", "bin")
const grpcurlPath = join(bin, "grpcurl")
const version = "v1.9.3"

const installGrpcurl = () => {
  if (existsSync(grpcurlPath)) return
  execFileSync("go", ["install", `github.com/fullstorydev/grpcurl/cmd/grpcurl@${version}`], {
    env: { ...process.env, GOBIN: bin },
    stdio: "inherit"
  })
}

interface Run {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

const grpcurl = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { port } = yield* ConnectServer.ConnectServer
    return yield* Effect.async<Run>((resume) => {
      const child = execFile(grpcurlPath, ["-plaintext", ...args.map((a) => a === "ADDRESS" ? `127.0.0.1:${port}` : a)], {
        timeout: 20_000
      }, (error, stdout, stderr) => {
        resume(Effect.succeed({ exitCode: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr }))
      })
      return Effect.sync(() => child.kill())
    })
  })

const services = [TestService, GrpcHealth.Health, ...GrpcReflection.services] as const
const ReflectingServer = ConnectServer.layer({ services }).pipe(
  Layer.provide(Layer.mergeAll(TestServiceLive, GrpcHealth.layer({ services: [TestService] }), GrpcReflection.layer(services)))
)

describe("grpcurl against our server, by reflection", () => {
  installGrpcurl()

  layer(ReflectingServer, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("list: every registered service", () =>
      Effect.gen(function*() {
        const run = yield* grpcurl(["ADDRESS", "list"])
        expect(run.stderr).toBe("")
        expect(run.stdout.trim().split("\n").sort()).toEqual([
          "connecteffect.test.v1.TestService",
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection"
        ])
      }))

    it.effect("describe: a service's methods and a message's fields", () =>
      Effect.gen(function*() {
        const service = yield* grpcurl(["ADDRESS", "describe", "connecteffect.test.v1.TestService"])
        expect(service.exitCode).toBe(0)
        expect(service.stdout).toContain("rpc BidiStream ( stream .connecteffect.test.v1.EchoRequest ) returns ( stream .connecteffect.test.v1.EchoResponse );")
        const message = yield* grpcurl(["ADDRESS", "describe", "connecteffect.test.v1.EchoRequest"])
        expect(message.stdout).toContain("string fail_with = 3;")
        const unknown = yield* grpcurl(["ADDRESS", "describe", "nope.Nothing"])
        expect(unknown.exitCode).not.toBe(0)
        expect(unknown.stderr).toContain("Symbol not found")
      }))

    it.effect("calls over gRPC with headers, and reports errors with their code", () =>
      Effect.gen(function*() {
        const ok = yield* grpcurl(["-H", "x-test-a: 1", "-d", JSON.stringify({ text: "hi" }), "ADDRESS", "connecteffect.test.v1.TestService/Echo"])
        expect(ok.exitCode).toBe(0)
        expect(JSON.parse(ok.stdout)).toEqual({ text: "hi", headers: ["x-test-a: 1"] })
        const streamed = yield* grpcurl(["-d", JSON.stringify({ text: "s", count: 2 }), "ADDRESS", "connecteffect.test.v1.TestService/ServerStream"])
        expect(streamed.stdout).toContain("\"s 1\"")
        const failed = yield* grpcurl(["-d", JSON.stringify({ text: "no", failWith: "not_found" }), "ADDRESS", "connecteffect.test.v1.TestService/Echo"])
        expect(failed.stderr).toContain("Code: NotFound")
        expect(failed.stderr).toContain("Message: failed: no")
        const health = yield* grpcurl(["-d", JSON.stringify({ service: "connecteffect.test.v1.TestService" }), "ADDRESS", "grpc.health.v1.Health/Check"])
        expect(JSON.parse(health.stdout)).toEqual({ status: "SERVING" })
      }))
  })
})
