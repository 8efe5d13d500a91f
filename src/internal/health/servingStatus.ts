/**
 * The health statuses as the program names them and as `grpc.health.v1` puts them on the wire.
 * @internal
 */
import { HealthCheckResponse_ServingStatus as Wire } from "../../gen/grpc/health/v1/health_pb.js"

const wire = {
  unknown: Wire.UNKNOWN,
  serving: Wire.SERVING,
  not_serving: Wire.NOT_SERVING,
  // Only Watch sends it, for a service not registered (yet): Check answers not_found instead.
  service_unknown: Wire.SERVICE_UNKNOWN
} as const

/** @internal */
export const toWire = (status: keyof typeof wire): Wire => wire[status]
