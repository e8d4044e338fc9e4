import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { Fence } from "./CommitBatch.js"
import { BigintColumn } from "./Records.js"

const Claimed = Schema.Struct({ partition: Schema.Number, epoch: BigintColumn })

/**
 * The partition epochs of the order topics (migration 0005). An instance assigned partitions claims
 * them: the epoch of each partition another instance held moves on, so every commit still carrying
 * an older epoch (an instance that was paused past its session, with decisions queued) is refused
 * by the commit statement. A partition that stays with its instance (a rebalance, a consumer started
 * again) keeps its epoch: what it still commits from before is its own.
 */
export class Fencing extends Effect.Service<Fencing>()("Fencing", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const claimQuery = SqlSchema.findAll({
      Request: Schema.Struct({ group: Schema.String, owner: Schema.String, partitions: Schema.Array(Schema.Number) }),
      Result: Claimed,
      execute: ({ group, owner, partitions }) =>
        sql`INSERT INTO partition_epochs (group_id, partition, epoch, owner)
            SELECT ${group}, p, 1, ${owner} FROM unnest(${partitions}::int[]) AS p ORDER BY p
            ON CONFLICT (group_id, partition)
            DO UPDATE SET epoch = partition_epochs.epoch + (partition_epochs.owner <> EXCLUDED.owner)::int,
                          owner = EXCLUDED.owner, updated_at = now()
            RETURNING partition, epoch::text AS epoch`,
    })

    /** Claims `partitions` of `group` for the instance `owner`: the fences its commits carry from now on. */
    const claim = Effect.fn("Fencing.claim")(function* (
      group: string,
      owner: string,
      partitions: ReadonlyArray<number>,
    ) {
      if (partitions.length === 0) return new Map<number, Fence>()
      const rows = yield* claimQuery({ group, owner, partitions }).pipe(Effect.catchTag("ParseError", Effect.die))
      return new Map(rows.map((r) => [r.partition, { group, partition: r.partition, epoch: r.epoch }]))
    })

    return { claim } as const
  }),
}) {}
