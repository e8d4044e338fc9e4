import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Schema } from "effect"
import { LocationRecord } from "./Records.js"

/** What a PUT of a location sets; a field left out keeps its value (or its default, for a new location). */
export interface LocationChanges {
  readonly name?: string | undefined
  readonly priority?: number | undefined
  readonly channels?: ReadonlyArray<string> | undefined
  readonly active?: boolean | undefined
}

const LocationRow = Schema.Struct({ ...LocationRecord.fields, created: Schema.Boolean })

/** The locations table: read by the HTTP API, written by its admin route. SQL errors are defects here. */
export class Locations extends Effect.Service<Locations>()("Locations", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(`location_id, name, priority, channels, active,
      to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at`)

    const list = SqlSchema.findAll({
      Request: Schema.Void,
      Result: LocationRecord,
      execute: () => sql`SELECT ${columns} FROM locations ORDER BY priority, location_id`,
    })
    const get = SqlSchema.findOne({
      Request: Schema.String,
      Result: LocationRecord,
      execute: (id) => sql`SELECT ${columns} FROM locations WHERE location_id = ${id}`,
    })
    // one statement: created with the defaults for what is left out, or only the fields given changed
    const upsert = SqlSchema.single({
      Request: Schema.Struct({
        id: Schema.String,
        name: Schema.NullOr(Schema.String),
        priority: Schema.NullOr(Schema.Number),
        channels: Schema.NullOr(Schema.String),
        active: Schema.NullOr(Schema.Boolean),
      }),
      Result: LocationRow,
      execute: (r) => sql`
        INSERT INTO locations AS l (location_id, name, priority, channels, active)
        VALUES (${r.id}, coalesce(${r.name}::text, ${r.id}), coalesce(${r.priority}::int, 100),
                ARRAY(SELECT json_array_elements_text(coalesce(${r.channels}::json, '[]'::json))),
                coalesce(${r.active}::boolean, true))
        ON CONFLICT (location_id) DO UPDATE SET
          name = coalesce(${r.name}::text, l.name),
          priority = coalesce(${r.priority}::int, l.priority),
          channels = CASE WHEN ${r.channels}::json IS NULL THEN l.channels
                          ELSE ARRAY(SELECT json_array_elements_text(${r.channels}::json)) END,
          active = coalesce(${r.active}::boolean, l.active),
          updated_at = now()
        RETURNING ${columns}, (xmax = 0) AS created`,
    })

    return {
      list: () => list(undefined).pipe(Effect.orDie),
      get: (id: string) => get(id).pipe(Effect.orDie),
      put: (id: string, changes: LocationChanges) =>
        upsert({
          id,
          name: changes.name ?? null,
          priority: changes.priority ?? null,
          channels: changes.channels === undefined ? null : JSON.stringify(changes.channels),
          active: changes.active ?? null,
        }).pipe(Effect.orDie),
    } as const
  }),
}) {}
