import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import { freshDatabaseUrl } from "../support/TestDatabase.js"

// Stock per location, applied to a database that today's schema (migrations up to 0008) filled with a
// shop's rows: every row moves to `default` without loss, and the books still balance.

const dir = fileURLToPath(new URL("../../migrations/", import.meta.url))
const files = readdirSync(dir)
  .filter((f) => /^\d+_.+\.sql$/.test(f))
  .sort()
const perLocation = files.findIndex((f) => f.startsWith("0009_"))
const apply = (client: pg.Client, names: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    for (const name of names) await client.query(readFileSync(`${dir}${name}`, "utf8"))
  })

/** What must survive the migration, product by product and order by order. */
const books = (client: pg.Client) =>
  Effect.promise(async () => ({
    stock: (
      await client.query(
        "SELECT product_id, available, reserved, on_hand, low_stock_threshold, safety_stock, location, version FROM stock ORDER BY 1",
      )
    ).rows,
    lines: (
      await client.query(
        "SELECT order_id, product_id, quantity, fulfilled, released FROM reservation_lines ORDER BY 1, 2",
      )
    ).rows,
    orders: (await client.query("SELECT order_id, status, version FROM reservations ORDER BY 1")).rows,
    ledger: (await client.query("SELECT count(*)::int AS n, sum(quantity)::int AS q FROM stock_ledger")).rows,
  }))

describe("migration to stock per location", () => {
  it.scoped("moves a filled database's rows to default without loss, and keeps the balance per location", () =>
    Effect.gen(function* () {
      expect(perLocation).toBeGreaterThan(0)
      const url = yield* freshDatabaseUrl("to_locations")
      const client = new pg.Client({ connectionString: url })
      yield* Effect.acquireRelease(
        Effect.promise(() => client.connect()),
        () => Effect.promise(() => client.end()),
      )
      yield* apply(client, files.slice(0, perLocation))
      // a shop as today's schema holds it: products with labels, a held order, a partly shipped one, a released one
      yield* Effect.promise(async () => {
        // an order and its lines in one statement (the status check runs at its end), then the stock they hold
        await client.query(`
          WITH orders AS (
            INSERT INTO reservations (order_id, reservation_id, status)
            VALUES ('o-1', gen_random_uuid(), 'reserved'), ('o-2', gen_random_uuid(), 'partially_fulfilled'),
                   ('o-3', gen_random_uuid(), 'released'))
          INSERT INTO reservation_lines (order_id, product_id, quantity, fulfilled, released)
          VALUES ('o-1', 'A', 2, 0, 0), ('o-1', 'B', 1, 0, 0), ('o-2', 'A', 3, 2, 0), ('o-3', 'C', 4, 0, 4)`)
        await client.query(`
          INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold, location, safety_stock)
          VALUES ('A', 7, 3, 10, 2, 'aisle 4', 1), ('B', 4, 1, 5, 0, NULL, 0), ('C', 9, 0, 9, 5, 'cold room', 0);
          INSERT INTO stock_ledger (product_id, movement, quantity, available_before, available_after,
                                    reserved_before, reserved_after)
          VALUES ('A', 'initial', 12, 0, 12, 0, 0), ('A', 'reserve', 2, 12, 10, 0, 2), ('B', 'initial', 5, 0, 5, 0, 0);
        `)
      })
      const before = yield* books(client)
      yield* apply(client, files.slice(perLocation))
      expect(yield* books(client)).toEqual(before)
      const where = yield* Effect.promise(async () => ({
        stock: (await client.query("SELECT DISTINCT location_id, backordered, backorder_limit FROM stock")).rows,
        lines: (await client.query("SELECT DISTINCT location_id FROM reservation_lines")).rows,
        ledger: (await client.query("SELECT DISTINCT location_id FROM stock_ledger")).rows,
      }))
      expect(where).toEqual({
        stock: [{ location_id: "default", backordered: 0, backorder_limit: 0 }],
        lines: [{ location_id: "default" }],
        ledger: [{ location_id: "default" }],
      })
      // a product may now be kept at a second location, balanced there on its own
      const outcome = yield* Effect.promise(async () => {
        await client.query("INSERT INTO locations (location_id, name) VALUES ('east', 'East')")
        await client.query(
          "INSERT INTO stock (product_id, location_id, available, reserved, on_hand) VALUES ('A', 'east', 4, 0, 4)",
        )
        const unbalanced = await client
          .query("UPDATE stock SET reserved = 1, available = 3 WHERE product_id = 'A' AND location_id = 'east'")
          .then(
            () => "committed",
            (e: { code?: string }) => e.code,
          )
        const nowhere = await client
          .query(
            "INSERT INTO stock (product_id, location_id, available, reserved, on_hand) VALUES ('A', 'moon', 1, 0, 1)",
          )
          .then(
            () => "committed",
            (e: { code?: string }) => e.code,
          )
        const overPromised = await client
          .query("UPDATE stock SET backorder_limit = 1, backordered = 2 WHERE product_id = 'B'")
          .then(
            () => "committed",
            (e: { code?: string }) => e.code,
          )
        return { unbalanced, nowhere, overPromised }
      })
      // reserved without a held line at east; an unknown location; more backordered than the limit
      expect(outcome).toEqual({ unbalanced: "IV409", nowhere: "23503", overPromised: "23514" })
    }),
  )
})
