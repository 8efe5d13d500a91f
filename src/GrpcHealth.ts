/**
 * gRPC health checking (`grpc.health.v1.Health`: Check, Watch and List) as a ready-made service,
 * and the `GrpcHealth` tag through which the program says how each of its services is doing.
 * Load balancers, Kubernetes probes (`grpc_health_probe`) and gRPC clients' own health checks
 * call it; like every service here it answers Connect as well.
 *
 * @since 0.2.0
 */
import type { DescService } from "@bufbuild/protobuf"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as ConnectService from "./ConnectService.js"
import { Health } from "./gen/grpc/health/v1/health_pb.js"
import { ConnectError } from "./internal/connectError.js"
import { toWire } from "./internal/health/servingStatus.js"
import { quote } from "./internal/quote.js"

export {
  /**
   * The descriptor of `grpc.health.v1.Health`: list it in `ConnectServer.layer`'s `services`, or
   * make a client of it with `ConnectClient.make`.
   *
   * @since 0.2.0
   * @category descriptors
   */
  Health,
  /**
   * @since 0.2.0
   * @category descriptors
   */
  HealthCheckRequestSchema,
  /**
   * @since 0.2.0
   * @category descriptors
   */
  HealthCheckResponse_ServingStatus,
  /**
   * @since 0.2.0
   * @category descriptors
   */
  HealthCheckResponseSchema,
  /**
   * @since 0.2.0
   * @category descriptors
   */
  HealthListRequestSchema,
  /**
   * @since 0.2.0
   * @category descriptors
   */
  HealthListResponseSchema
} from "./gen/grpc/health/v1/health_pb.js"

/**
 * How a service is doing. `"serving"`: ready for calls; `"not_serving"`: up but not taking calls
 * (e.g. its database is unreachable, or the server is draining); `"unknown"`: not known yet.
 *
 * @since 0.2.0
 * @category models
 */
export type ServingStatus = "unknown" | "serving" | "not_serving"

/**
 * A service, by its fully-qualified name (`"connectrpc.eliza.v1.ElizaService"`) or its
 * descriptor; `""` is the server as a whole.
 *
 * @since 0.2.0
 * @category models
 */
export type ServiceName = string | DescService

/**
 * The health of the server's services, as `grpc.health.v1.Health` reports it.
 *
 * @since 0.2.0
 * @category tags
 */
export class GrpcHealth extends Context.Tag("connect-effect/GrpcHealth")<GrpcHealth, {
  /** Sets the status of a service, registering it if new; Watch calls on it see the change. Ignored after `shutdown`. */
  readonly setStatus: (service: ServiceName, status: ServingStatus) => Effect.Effect<void>
  /** Forgets a service: Check answers `not_found` for it again, and Watch `SERVICE_UNKNOWN`. */
  readonly clearStatus: (service: ServiceName) => Effect.Effect<void>
  /** The status of a service, none if it is not registered. */
  readonly status: (service: ServiceName) => Effect.Effect<Option.Option<ServingStatus>>
  /** Every registered service's status, the server's as `""`. */
  readonly statuses: Effect.Effect<ReadonlyMap<string, ServingStatus>>
  /**
   * The status of a service now and after each change (none while it is not registered); it
   * ends after `shutdown`, with `"not_serving"`. A reader slower than the changes sees the
   * latest status, never a backlog.
   */
  readonly watch: (service: ServiceName) => Stream.Stream<Option.Option<ServingStatus>>
  /**
   * Sets every service `"not_serving"` and ignores `setStatus` until `resume`: call it when the
   * server starts draining, so that load balancers stop sending calls before it closes. Watch
   * calls then end (after sending `NOT_SERVING`), so that they do not hold the server's
   * graceful shutdown for its whole grace period; clients retry them, as the protocol says.
   */
  readonly shutdown: Effect.Effect<void>
  /** Sets every service `"serving"` and accepts `setStatus` again. */
  readonly resume: Effect.Effect<void>
}>() {}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Services registered as `"serving"` from the start, beside the server itself (`""`). */
  readonly services?: ReadonlyArray<ServiceName>
}

interface State {
  readonly statuses: ReadonlyMap<string, ServingStatus>
  readonly shutdown: boolean
}

const nameOf = (service: ServiceName): string => (typeof service === "string" ? service : service.typeName)

const withStatus = (state: State, service: string, status: ServingStatus | undefined): State => {
  const statuses = new Map(state.statuses)
  if (status === undefined) statuses.delete(service)
  else statuses.set(service, status)
  return { ...state, statuses }
}

const allSetTo = (state: State, status: ServingStatus, shutdown: boolean): State => ({
  shutdown,
  statuses: new Map([...state.statuses.keys()].map((service) => [service, status]))
})

/**
 * The `GrpcHealth` service alone, for a program that reports health some other way too.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<GrpcHealth["Type"]> =>
  Effect.map(
    SubscriptionRef.make<State>({
      statuses: new Map([["", "serving"], ...(options.services ?? []).map((s) => [nameOf(s), "serving"] as const)]),
      shutdown: false
    }),
    (ref) => ({
      setStatus: (service, status) =>
        SubscriptionRef.update(ref, (state) => (state.shutdown ? state : withStatus(state, nameOf(service), status))),
      clearStatus: (service) => SubscriptionRef.update(ref, (state) => withStatus(state, nameOf(service), undefined)),
      status: (service) => Effect.map(SubscriptionRef.get(ref), (state) => Option.fromNullable(state.statuses.get(nameOf(service)))),
      statuses: Effect.map(SubscriptionRef.get(ref), (state) => state.statuses),
      watch: (service) => {
        const name = nameOf(service)
        return ref.changes.pipe(
          Stream.takeUntil((state) => state.shutdown),
          Stream.map((state) => state.statuses.get(name)),
          // A sliding buffer of one: a Watch call whose client reads slowly (HTTP/2 flow control)
          // holds the latest status only, where the subscription alone would queue every change.
          Stream.buffer({ capacity: 1, strategy: "sliding" }),
          Stream.changes,
          Stream.map(Option.fromNullable)
        )
      },
      shutdown: SubscriptionRef.update(ref, (state) => allSetTo(state, "not_serving", true)),
      resume: SubscriptionRef.update(ref, (state) => allSetTo(state, "serving", false))
    })
  )

/**
 * How many services List reports at most (as grpc-go): past this it fails with
 * `resource_exhausted`, as the protocol allows, rather than send an unbounded answer.
 */
const listMax = 100

/**
 * The implementation of `grpc.health.v1.Health` on the `GrpcHealth` in context. Check answers
 * `not_found` for a service that is not registered; Watch answers `SERVICE_UNKNOWN` for it and
 * stays open, sending the status now and on every change until the client goes away or
 * `GrpcHealth.shutdown` ends it.
 *
 * @since 0.2.0
 * @category layers
 */
export const handlers: Layer.Layer<ConnectService.Registered<typeof Health>, never, GrpcHealth> = ConnectService
  .toLayer(Health, {
    check: (request) =>
      Effect.flatMap(GrpcHealth, (health) => health.status(request.service)).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new ConnectError({ code: "not_found", message: `unknown service ${quote(request.service)}` })),
          onSome: (status) => Effect.succeed({ status: toWire(status) })
        }))
      ),
    watch: (request) =>
      Stream.unwrap(Effect.map(GrpcHealth, (health) => health.watch(request.service))).pipe(
        Stream.map((status) => ({ status: toWire(Option.getOrElse(status, () => "service_unknown" as const)) }))
      ),
    list: () =>
      Effect.flatMap(GrpcHealth, (health) => health.statuses).pipe(
        Effect.flatMap((statuses) =>
          statuses.size > listMax
            ? Effect.fail(new ConnectError({ code: "resource_exhausted", message: `more than ${listMax} services` }))
            : Effect.succeed({
              statuses: Object.fromEntries([...statuses].map(([service, status]) => [service, { status: toWire(status) }]))
            })
        )
      )
  })

/**
 * `grpc.health.v1.Health` served from a new `GrpcHealth`, which the Layer provides too so that
 * the program can set statuses. The server itself (`""`) and `options.services` start `"serving"`.
 *
 * @example
 * ```ts
 * const HealthLive = GrpcHealth.layer({ services: [ElizaService] })
 * const ServerLive = ConnectServer.layer({ services: [ElizaService, GrpcHealth.Health] }).pipe(
 *   Layer.provide([ElizaLive, HealthLive])
 * )
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<GrpcHealth | ConnectService.Registered<typeof Health>> =>
  Layer.provideMerge(handlers, Layer.effect(GrpcHealth, make(options)))
