import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect, Either, Fiber, Layer, Option } from "effect"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import { DefaultLocation, stockKey } from "../../src/Domain/Lifecycle.js"
import type { CommitBatch, Fence, ProductWrite } from "../../src/Store/CommitBatch.js"
import { DatabaseLive } from "../../src/Store/Database.js"
import { Fencing } from "../../src/Store/Fencing.js"
import { StockStore } from "../../src/Store/StockStore.js"
import { batch, decision } from "../support/Intents.js"
import { makeMemoryStore } from "../support/MemoryStore.js"
import { testConfigLayer } from "../support/TestConfig.js"
import { freshDatabaseUrl } from "../support/TestDatabase.js"

// The commit's contract, run against PostgreSQL's one statement and against the in-memory store
// (the engine's test layer), so the two cannot drift apart. The commit takes intents and judges them
// against the rows as committed: a stale or misordered memory gets a conflict and nothing is written.

const pid = (id: string) => id as ProductId
const here = DefaultLocation
const oid = (id: string) => id as OrderId
const product = (id: string, exists = true, create = false): ProductWrite => ({
  productId: pid(id),
  locationId: here,
  exists,
  create,
})
const reserve = (order: string, productId: string, quantity: number) =>
  decision({
    step: {
      _tag: "Reserve",
      orderId: oid(order),
      reservationId: crypto.randomUUID(),
      lines: [{ productId: pid(productId), locationId: here, quantity }],
      expiresAt: null,
    },
  })
const ship = (order: string, items: Array<[string, number]> | undefined, to: "fulfilled" | "partially_fulfilled") =>
  decision({
    step: {
      _tag: "Ship",
      orderId: oid(order),
      fulfillmentId: `${order}-${crypto.randomUUID()}`,
      items: items?.map(([p, quantity]) => ({ productId: pid(p), locationId: here, quantity })),
      to,
      at: new Date().toISOString(),
    },
  })

const contract = (name: string, store: Layer.Layer<StockStore>) =>
  layer(store, { excludeTestServices: true })(`the commit (${name})`, (it) => {
    const stockOf = (id: string) =>
      Effect.flatMap(StockStore, (s) => s.loadStock([pid(id)])).pipe(Effect.map((rows) => rows[0]))
    const orderOf = (id: string) =>
      Effect.flatMap(StockStore, (s) => s.lookup([oid(id)], [])).pipe(Effect.map(({ known }) => known.get(oid(id))))
    const conflict = (b: CommitBatch) =>
      Effect.flatMap(StockStore, (s) => Effect.either(s.commit(b))).pipe(
        Effect.map((r) => (Either.isLeft(r) && r.left._tag === "CommitConflict" ? r.left.reason : "committed")),
      )

    it.effect("derives a reservation's rows from its lines and returns the rows as committed", () =>
      Effect.gen(function* () {
        const store = yield* StockStore
        const created = yield* store.commit(
          batch(
            [product("A", false, true)],
            decision({ changes: [{ _tag: "Initial", productId: pid("A"), locationId: here, quantity: 10 }] }),
          ),
        )
        expect(created.get(stockKey("A", here))).toEqual({
          version: 1,
          available: 10,
          reserved: 0,
          onHand: 10,
          backordered: 0,
        })
        const rows = yield* store.commit(batch([product("A")], reserve("o1", "A", 3)))
        expect(rows.get(stockKey("A", here))).toEqual({
          version: 2,
          available: 7,
          reserved: 3,
          onHand: 10,
          backordered: 0,
        })
        expect(yield* stockOf("A")).toMatchObject({ available: 7, reserved: 3, onHand: 10, version: 2 })
        expect(yield* orderOf("o1")).toMatchObject({ status: "reserved", lines: [{ productId: "A", quantity: 3 }] })
      }),
    )

    it.effect("refuses an order already decided", () =>
      Effect.gen(function* () {
        expect(yield* conflict(batch([product("A")], reserve("o1", "A", 1)))).toBe("order already decided elsewhere")
        expect(yield* stockOf("A")).toMatchObject({ available: 7, version: 2 })
      }),
    )

    it.effect("refuses a step decided on a misordered memory: the seed-603 books cannot be written", () =>
      Effect.gen(function* () {
        // memory believed one unit already shipped and ships "the rest" (2) as the last shipment; the
        // row still holds 3: shipping 2 leaves it partially fulfilled, not fulfilled, so it is a conflict
        expect(yield* conflict(batch([product("A")], ship("o1", [["A", 2]], "fulfilled")))).toBe(
          "status not as decided",
        )
        expect(yield* stockOf("A")).toMatchObject({ available: 7, reserved: 3, onHand: 10, version: 2 })
        // in decision order, each step judged on what the one before committed, the books add up
        yield* Effect.flatMap(StockStore, (s) =>
          s.commit(batch([product("A")], ship("o1", [["A", 1]], "partially_fulfilled"))),
        )
        yield* Effect.flatMap(StockStore, (s) => s.commit(batch([product("A")], ship("o1", [["A", 2]], "fulfilled"))))
        expect(yield* stockOf("A")).toMatchObject({ available: 7, reserved: 0, onHand: 7, version: 4 })
        expect(yield* orderOf("o1")).toMatchObject({ status: "fulfilled", lines: [] })
      }),
    )

    it.effect("ships no more than a line holds", () =>
      Effect.gen(function* () {
        yield* Effect.flatMap(StockStore, (s) => s.commit(batch([product("A")], reserve("o3", "A", 2))))
        expect(yield* conflict(batch([product("A")], ship("o3", [["A", 3]], "fulfilled")))).toBe(
          "line holds less than shipped",
        )
      }),
    )

    it.effect("releases what the lines hold, whatever memory believed, once", () =>
      Effect.gen(function* () {
        const release = decision({ step: { _tag: "Release", orderId: oid("o3"), reason: "cancelled" } })
        yield* Effect.flatMap(StockStore, (s) => s.commit(batch([product("A")], release)))
        expect(yield* stockOf("A")).toMatchObject({ available: 7, reserved: 0, version: 6 })
        expect(yield* orderOf("o3")).toMatchObject({ status: "released", lines: [] })
        expect(yield* conflict(batch([product("A")], release))).toBe("order not held as decided")
      }),
    )

    it.effect("lets a refusal stand only while the product still cannot sell what was asked", () =>
      Effect.gen(function* () {
        const refuse = (order: string, requested: number) =>
          decision({ step: { _tag: "Refuse", orderId: oid(order), productId: pid("A"), locations: [here], requested } })
        expect(yield* conflict(batch([product("A")], refuse("o4", 7)))).toBe("refusal no longer stands")
        // after a reservation of 5 in the same batch, 2 are left: a refusal of 3 stands there
        yield* Effect.flatMap(StockStore, (s) =>
          s.commit(batch([product("A")], reserve("o5", "A", 5), refuse("o4", 3))),
        )
        expect(yield* orderOf("o4")).toMatchObject({ status: "rejected" })
        expect(yield* stockOf("A")).toMatchObject({ available: 2, reserved: 5 })
      }),
    )

    it.effect("judges a refusal over all its candidate locations, and a shipment at the location it names", () =>
      Effect.gen(function* () {
        // PostgreSQL keeps stock only at locations it knows
        const sql = yield* Effect.serviceOption(SqlClient.SqlClient)
        if (Option.isSome(sql))
          yield* sql.value`INSERT INTO locations (location_id, name) VALUES ('east', 'east') ON CONFLICT DO NOTHING`
        const store = yield* StockStore
        const at = (locationId: string, exists = true, create = false): ProductWrite => ({
          productId: pid("M"),
          locationId,
          exists,
          create,
        })
        const both = [at(here), at("east")]
        yield* store.commit(
          batch(
            [at(here, false, true), at("east", false, true)],
            decision({ changes: [{ _tag: "Initial", productId: pid("M"), locationId: here, quantity: 3 }] }),
            decision({ changes: [{ _tag: "Initial", productId: pid("M"), locationId: "east", quantity: 4 }] }),
          ),
        )
        const refuse = (order: string, requested: number) =>
          decision({
            step: { _tag: "Refuse", orderId: oid(order), productId: pid("M"), locations: [here, "east"], requested },
          })
        // 3 + 4 can serve 7: no refusal stands; 8 it cannot
        expect(yield* conflict(batch(both, refuse("m1", 7)))).toBe("refusal no longer stands")
        yield* store.commit(batch(both, refuse("m1", 8)))
        expect(yield* orderOf("m1")).toMatchObject({ status: "rejected" })
        yield* store.commit(
          batch(
            both,
            decision({
              step: {
                _tag: "Reserve",
                orderId: oid("m2"),
                reservationId: crypto.randomUUID(),
                lines: [
                  { productId: pid("M"), locationId: here, quantity: 2 },
                  { productId: pid("M"), locationId: "east", quantity: 4 },
                ],
                expiresAt: null,
              },
            }),
          ),
        )
        const shipAt = (locationId: string, quantity: number, to: "fulfilled" | "partially_fulfilled") =>
          decision({
            step: {
              _tag: "Ship",
              orderId: oid("m2"),
              fulfillmentId: `m2-${crypto.randomUUID()}`,
              items: [{ productId: pid("M"), locationId, quantity }],
              to,
              at: new Date().toISOString(),
            },
          })
        // default holds 2 of the order: 3 cannot ship from there, though the order holds 6 in all
        expect(yield* conflict(batch(both, shipAt(here, 3, "partially_fulfilled")))).toBe(
          "line holds less than shipped",
        )
        yield* store.commit(batch(both, shipAt("east", 4, "partially_fulfilled")))
        const rows = yield* store.loadStock([pid("M")])
        expect(rows.map((r) => [r.locationId, r.available, r.reserved, r.onHand]).sort()).toEqual([
          ["default", 1, 2, 3],
          ["east", 0, 0, 0],
        ])
      }),
    )

    it.effect("lets a fulfilment rejection stand only if the order's lines say what it claims", () =>
      Effect.gen(function* () {
        const reject = decision({
          step: { _tag: "RejectFulfilment", orderId: oid("o5"), fulfillmentId: "f1", reason: "not_reserved" },
        })
        expect(yield* conflict(batch([], reject))).toBe("fulfilment rejection no longer stands")
        const unknown = decision({
          step: {
            _tag: "RejectFulfilment",
            orderId: oid("o5"),
            fulfillmentId: "f1",
            reason: "unknown_line",
            productId: pid("B"),
          },
        })
        yield* Effect.flatMap(StockStore, (s) => s.commit(batch([], unknown)))
        expect(yield* orderOf("o5")).toMatchObject({ status: "reserved", fulfillments: ["f1"] })
      }),
    )

    it.effect("expires a reservation only once it is due", () =>
      Effect.gen(function* () {
        const expire = decision({ step: { _tag: "Release", orderId: oid("o5"), reason: "expired" } })
        expect(yield* conflict(batch([product("A")], expire))).toBe("order not held as decided")
      }),
    )

    it.effect("refuses a count when on hand moved, and a removal of what is not available", () =>
      Effect.gen(function* () {
        const adjust = (quantity: number, countedOnHand?: number) =>
          decision({
            changes: [
              {
                _tag: "Adjust",
                productId: pid("A"),
                locationId: here,
                quantity,
                countedOnHand,
                adjustmentType: "count",
                reason: null,
                referenceId: null,
              },
            ],
          })
        expect(yield* conflict(batch([product("A")], adjust(-1, 3)))).toBe("on hand moved")
        expect(yield* conflict(batch([product("A")], adjust(-3)))).toBe("not available")
        yield* Effect.flatMap(StockStore, (s) => s.commit(batch([product("A")], adjust(-1, 6))))
        expect(yield* stockOf("A")).toMatchObject({ available: 1, reserved: 5, onHand: 6 })
      }),
    )
  })

const PostgresStore = Layer.unwrapScoped(
  freshDatabaseUrl("commit").pipe(
    Effect.map((url) =>
      Layer.mergeAll(StockStore.Default, Fencing.Default).pipe(
        Layer.provideMerge(DatabaseLive),
        Layer.provideMerge(testConfigLayer({ DATABASE_URL: url })),
      ),
    ),
  ),
)

contract("PostgreSQL", PostgresStore.pipe(Layer.orDie))
contract("memory", makeMemoryStore().layer as Layer.Layer<StockStore>)

describe("fencing", () => {
  layer(PostgresStore.pipe(Layer.orDie), { excludeTestServices: true })(
    "a partition claimed by another member",
    (it) => {
      it.effect("refuses every commit still carrying the epoch it was decided under", () =>
        Effect.gen(function* () {
          const store = yield* StockStore
          const fencing = yield* Fencing
          const sql = yield* SqlClient.SqlClient
          yield* store.commit(
            batch(
              [product("F", false, true)],
              decision({ changes: [{ _tag: "Initial", productId: pid("F"), locationId: here, quantity: 5 }] }),
            ),
          )
          const mine = (yield* fencing.claim("g", "paused-member", [3])).get(3)!
          const fenced = (b: CommitBatch, fence: Fence) => ({ ...b, fences: [fence] })
          yield* store.commit(fenced(batch([product("F")], reserve("f1", "F", 1)), mine))
          // a rebalance that leaves the partition with its member keeps the epoch: its queued commits land
          expect((yield* fencing.claim("g", "paused-member", [3])).get(3)?.epoch).toBe(mine.epoch)
          yield* store.commit(fenced(batch([product("F")], reserve("f1b", "F", 1)), mine))
          // the member pauses past its session; the partition goes to another, which claims it
          yield* fencing.claim("g", "other-member", [3])
          const refused = yield* Effect.either(store.commit(fenced(batch([product("F")], reserve("f2", "F", 1)), mine)))
          expect(Either.isLeft(refused) && refused.left).toMatchObject({
            reason: "partition fenced",
            productIds: ["g/3"],
          })
          const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM reservations WHERE order_id = 'f2'`
          expect(row?.n).toBe(0)
        }),
      )
    },
  )
})

describe("writers that share a product", () => {
  layer(PostgresStore.pipe(Layer.orDie), { excludeTestServices: true })("at the same time", (it) => {
    it.effect("the second waits for the first and is judged on the row the first committed", () =>
      Effect.gen(function* () {
        const store = yield* StockStore
        const sql = yield* SqlClient.SqlClient
        yield* store.commit(
          batch(
            [product("W", false, true)],
            decision({ changes: [{ _tag: "Initial", productId: pid("W"), locationId: here, quantity: 5 }] }),
          ),
        )
        // the first writer's statement has run and its transaction is still open (its row locked)
        const go = yield* Deferred.make<void>()
        const wrote = yield* Deferred.make<void>()
        const first = yield* sql
          .withTransaction(
            Effect.zipRight(
              store.commit(batch([product("W")], reserve("w1", "W", 3))),
              Deferred.succeed(wrote, undefined),
            ).pipe(Effect.zipRight(Deferred.await(go))),
          )
          .pipe(Effect.fork)
        yield* Deferred.await(wrote)
        // the second asks for 4 of what it saw as 5 and refuses: it stands only on the row as the first left it (2)
        const refusal = decision({
          step: { _tag: "Refuse", orderId: oid("w2"), productId: pid("W"), locations: [here], requested: 4 },
        })
        const second = yield* Effect.fork(store.commit(batch([product("W")], refusal)))
        yield* Effect.sleep("200 millis")
        yield* Deferred.succeed(go, undefined)
        yield* Fiber.join(first)
        const rows = yield* Fiber.join(second)
        expect(rows.get(stockKey("W", here))).toMatchObject({ available: 2, reserved: 3, onHand: 5 })
        const [row] = yield* sql<{ status: string; available_qty: number }>`
          SELECT status, available_qty FROM reservations WHERE order_id = 'w2'`
        expect(row).toEqual({ status: "rejected", available_qty: 2 })
      }),
    )

    it.effect("one product's rows are stamped in the order their commits held its lock", () =>
      Effect.gen(function* () {
        const store = yield* StockStore
        const sql = yield* SqlClient.SqlClient
        const initial = (id: string) =>
          decision({ changes: [{ _tag: "Initial", productId: pid(id), locationId: here, quantity: 5 }] })
        yield* store.commit(batch([product("K", false, true), product("P", false, true)], initial("K"), initial("P")))
        // K is locked elsewhere: the first writer's statement starts, and waits for K before it reaches P
        const go = yield* Deferred.make<void>()
        const held = yield* Deferred.make<void>()
        const holder = yield* sql
          .withTransaction(
            sql`SELECT 1 FROM stock WHERE product_id = 'K' FOR UPDATE`.pipe(
              Effect.zipRight(Deferred.succeed(held, undefined)),
              Effect.zipRight(Deferred.await(go)),
            ),
          )
          .pipe(Effect.fork)
        yield* Deferred.await(held)
        const first = yield* Effect.fork(store.commit(batch([product("K"), product("P")], reserve("k1", "P", 1))))
        yield* Effect.sleep("200 millis")
        // a writer that starts later locks P, commits, and is stamped before the first
        yield* store.commit(batch([product("P")], reserve("k2", "P", 1)))
        yield* Deferred.succeed(go, undefined)
        yield* Fiber.join(holder)
        yield* Fiber.join(first)
        const ledger = yield* sql<{ order_id: string; stamped: number; reserved_at: number }>`
          SELECT l.reference_id AS order_id, extract(epoch FROM l.created_at)::float8 AS stamped,
                 extract(epoch FROM r.created_at)::float8 AS reserved_at
            FROM stock_ledger l JOIN reservations r ON r.order_id = l.reference_id
           WHERE l.product_id = 'P' AND l.movement = 'reserve' ORDER BY l.id`
        // in lock order (k2, then k1), each stamped with its reservation's time, and later than the one before
        expect(ledger.map((r) => r.order_id)).toEqual(["k2", "k1"])
        expect(ledger.every((r) => r.stamped === r.reserved_at)).toBe(true)
        expect(ledger[1]!.stamped).toBeGreaterThan(ledger[0]!.stamped)
      }),
    )
  })
})
