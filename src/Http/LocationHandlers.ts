import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { DefaultLocation } from "../Domain/Lifecycle.js"
import { Engine } from "../Engine/Engine.js"
import { Locations } from "../Store/Locations.js"
import { InventoryApi } from "./Api.js"
import { LocationNotFound } from "./Errors.js"

/** A location a request names must exist (`default` always does): 404 LocationNotFound naming it otherwise. */
export const knownLocation = (locations: Locations, locationId: string | undefined) =>
  locationId === undefined || locationId === DefaultLocation
    ? Effect.void
    : Effect.flatMap(locations.get(locationId), (found) =>
        Option.isSome(found)
          ? Effect.void
          : Effect.fail(
              new LocationNotFound({
                message: `no location with id ${JSON.stringify(locationId)} (PUT /locations/${locationId} creates it)`,
                location_id: locationId,
              }),
            ),
      )

export const LocationHandlersLive = HttpApiBuilder.group(InventoryApi, "locations", (handlers) =>
  Effect.gen(function* () {
    const locations = yield* Locations
    return handlers
      .handle("list", () => locations.list())
      .handle("get", ({ path }) =>
        Effect.flatMap(
          locations.get(path.location_id),
          Option.match({
            onNone: () =>
              new LocationNotFound({
                message: `no location ${JSON.stringify(path.location_id)}: PUT /locations/${path.location_id} defines it`,
                location_id: path.location_id,
              }),
            onSome: Effect.succeed,
          }),
        ),
      )
  }),
)

export const LocationAdminHandlersLive = HttpApiBuilder.group(InventoryApi, "locationsAdmin", (handlers) =>
  Effect.gen(function* () {
    const locations = yield* Locations
    const engine = yield* Engine
    return handlers.handle("put", ({ path, payload }) =>
      locations.put(path.location_id, payload).pipe(
        // routing here sees the change at once (other instances within seconds)
        Effect.tap(() => Effect.orDie(engine.refreshLocations)),
        Effect.tap((l) =>
          Effect.logInfo(l.created ? "location created" : "location updated").pipe(
            Effect.annotateLogs({ location_id: l.location_id, priority: l.priority, active: l.active }),
          ),
        ),
      ),
    )
  }),
)
