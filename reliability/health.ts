/**
 * Is the server still serving? One valid Echo over HTTP/1.1 (undici) and one over HTTP/2, each
 * on a new connection, with our own client; both must come back right within 10 s.
 */
import { ConnectClient } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Effect from "effect/Effect"
import { TestService } from "../test/gen/connecteffect/test/v1/test_pb.js"

const echoOver = (layer: typeof NodeTransport.layerUndici, baseUrl: string, text: string) =>
  Effect.flatMap(ConnectClient.make(TestService), (client) => client.echo({ text }, { timeout: "10 seconds" })).pipe(
    Effect.provide(layer({ baseUrl })),
    Effect.flatMap((response) => response.text === text ? Effect.void : Effect.fail(`answered ${JSON.stringify(response.text)}`)),
    Effect.mapError((e) => `${text}: ${typeof e === "string" ? e : `${e.code} ${e.message}`}`)
  )

export const healthCheck = (baseUrl: string): Effect.Effect<{ readonly ok: boolean; readonly detail: string }> =>
  Effect.all([echoOver(NodeTransport.layerUndici, baseUrl, "over HTTP/1.1"), echoOver(NodeTransport.layerHttp2, baseUrl, "over HTTP/2")], {
    mode: "validate"
  }).pipe(
    Effect.match({
      onFailure: (errors) => ({ ok: false, detail: errors.flatMap((e) => e._tag === "Some" ? [e.value] : []).join("; ") }),
      onSuccess: () => ({ ok: true, detail: "" })
    })
  )
