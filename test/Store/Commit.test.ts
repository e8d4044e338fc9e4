import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import { DatabaseLive } from "../../src/Store/Database.js"
import { type CommitBatch, type OrderInsert, StockStore } from "../../src/Store/StockStore.js"
import { testConfigLayer } from "../support/TestConfig.js"
import { freshDatabaseUrl } from "../support/TestDatabase.js"

// The group commit is one SQL statement that checks its own row counts: these are the cases in
// which it must refuse the whole batch (a conflict: reload and decide again) and write nothing.

const SuiteStore = Layer.unwrapScoped(
  freshDatabaseUrl("commit").pipe(
    Effect.map((url) =>
      StockStore.Default.pipe(Layer.provideMerge(DatabaseLive), Layer.provide(testConfigLayer({ DATABASE_URL: url }))),
    ),
  ),
)

const pid = (id: string) => id as ProductId
const oid = (id: string) => id as OrderId
const none = {
  products: [],
  orderInserts: [],
  orderUpdates: [],
  fulfillments: [],
  ledger: [],
  outbox: [],
  idempotency: [],
}
const release = (id: string, productId: ProductId, quantity: number, believedHeld = quantity) => ({
  orderId: oid(id),
  from: "reserved" as const,
  to: "released" as const,
  held: [{ productId, quantity: believedHeld }],
  lines: [{ productId, fulfilled: 0, released: quantity }],
})
const batch = (b: Partial<CommitBatch>): CommitBatch => ({ ...none, ...b })
const level = (available: number, reserved = 0) => ({ available, reserved, onHand: available + reserved })
const reserve = (productId: ProductId, version: number, quantity: number) => ({
  productId,
  expectedVersion: version,
  delta: { available: -quantity, reserved: quantity, onHand: 0 },
})
const order = (id: string, productId: ProductId, quantity: number): OrderInsert => ({
  orderId: oid(id),
  status: "reserved",
  reservationId: crypto.randomUUID(),
  lines: [{ productId, quantity }],
  expiresAt: null,
})
const event = (key: string) => ({
  eventId: crypto.randomUUID(),
  eventType: "inventory.reserved",
  topic: "inventory.reserved",
  key,
  payload: "{}",
})

layer(SuiteStore, { excludeTestServices: true })("group commit", (it) => {
  const counts = Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ reservations: number; lines: number; ledger: number; outbox: number }>`
      SELECT (SELECT count(*)::int FROM reservations) AS reservations,
             (SELECT count(*)::int FROM reservation_lines) AS lines,
             (SELECT count(*)::int FROM stock_ledger) AS ledger,
             (SELECT count(*)::int FROM outbox) AS outbox`
    return row!
  })
  const stockOf = (id: string) =>
    Effect.flatMap(StockStore, (store) => store.loadStock([pid(id)])).pipe(Effect.map((rows) => rows[0]))

  it.effect("writes every row of a batch and returns the new versions", () =>
    Effect.gen(function* () {
      const store = yield* StockStore
      const created = yield* store.commit(
        batch({
          products: [
            {
              productId: pid("A"),
              expectedVersion: 0,
              delta: level(10),
              create: { threshold: 2, location: null, safetyStock: 0 },
            },
          ],
        }),
      )
      expect(created.get(pid("A"))).toBe(1)
      const versions = yield* store.commit(
        batch({
          products: [reserve(pid("A"), 1, 3)],
          orderInserts: [order("o1", pid("A"), 3)],
          ledger: [
            {
              productId: pid("A"),
              movement: "reserve",
              adjustmentType: null,
              quantity: 3,
              before: level(10),
              after: level(7, 3),
              reason: null,
              referenceId: "o1",
            },
          ],
          outbox: [event("o1")],
        }),
      )
      expect(versions.get(pid("A"))).toBe(2)
      expect(yield* stockOf("A")).toMatchObject({ available: 7, reserved: 3, onHand: 10, version: 2 })
      expect(yield* counts).toEqual({ reservations: 1, lines: 1, ledger: 1, outbox: 1 })
    }),
  )

  it.effect("refuses the whole batch when a stock row's version moved, naming the product", () =>
    Effect.gen(function* () {
      const store = yield* StockStore
      const before = yield* counts
      const result = yield* Effect.either(
        store.commit(
          batch({
            products: [reserve(pid("A"), 1, 1)],
            orderInserts: [order("o2", pid("A"), 1)],
            outbox: [event("o2")],
          }),
        ),
      )
      expect(Either.isLeft(result) && result.left._tag === "CommitConflict" && result.left).toMatchObject({
        reason: "stock version changed",
        productIds: ["A"],
      })
      expect(yield* counts).toEqual(before)
      expect(yield* stockOf("A")).toMatchObject({ available: 7, version: 2 })
    }),
  )

  it.effect("refuses an order already decided elsewhere, and writes nothing of the batch", () =>
    Effect.gen(function* () {
      const store = yield* StockStore
      const before = yield* counts
      const result = yield* Effect.either(
        store.commit(batch({ products: [reserve(pid("A"), 2, 1)], orderInserts: [order("o1", pid("A"), 1)] })),
      )
      expect(Either.isLeft(result) && result.left).toMatchObject({
        _tag: "CommitConflict",
        reason: "order already decided elsewhere",
        productIds: ["o1"],
      })
      expect(yield* counts).toEqual(before)
      expect(yield* stockOf("A")).toMatchObject({ available: 7, version: 2 })
    }),
  )

  it.effect("records an order created and cancelled in one batch as released", () =>
    Effect.gen(function* () {
      const store = yield* StockStore
      const sql = yield* SqlClient.SqlClient
      yield* store.commit(
        batch({ products: [], orderInserts: [order("o3", pid("A"), 1)], orderUpdates: [release("o3", pid("A"), 1)] }),
      )
      const [row] = yield* sql<{ status: string }>`SELECT status FROM reservations WHERE order_id = 'o3'`
      expect(row?.status).toBe("released")
      const [line] = yield* sql<{ released: number }>`SELECT released FROM reservation_lines WHERE order_id = 'o3'`
      expect(line?.released).toBe(1)
    }),
  )

  it.effect("refuses a move decided on a stale memory of what the order holds", () =>
    Effect.gen(function* () {
      const store = yield* StockStore
      yield* store.commit(batch({ products: [], orderInserts: [order("o4", pid("A"), 3)] }))
      // memory believed the order held 2 of A (another instance moved it on since): nothing is written
      const stale = yield* Effect.either(store.commit(batch({ orderUpdates: [release("o4", pid("A"), 2, 2)] })))
      expect(Either.isLeft(stale) && stale.left).toMatchObject({ reason: "reservation already moved on elsewhere" })
      yield* store.commit(batch({ orderUpdates: [release("o4", pid("A"), 3)] }))
    }),
  )

  it.effect("refuses to release a reservation twice", () =>
    Effect.gen(function* () {
      const store = yield* StockStore
      yield* store.commit(batch({ orderUpdates: [release("o1", pid("A"), 3)] }))
      const again = yield* Effect.either(store.commit(batch({ orderUpdates: [release("o1", pid("A"), 3)] })))
      expect(Either.isLeft(again) && again.left).toMatchObject({ reason: "reservation already moved on elsewhere" })
    }),
  )

  it.effect("refuses a decision against an absent product that was created meanwhile", () =>
    Effect.gen(function* () {
      const store = yield* StockStore
      const result = yield* Effect.either(
        store.commit(batch({ products: [{ productId: pid("A"), expectedVersion: 0, delta: level(0) }] })),
      )
      expect(Either.isLeft(result) && result.left).toMatchObject({
        reason: "product created elsewhere",
        productIds: ["A"],
      })
    }),
  )
})
