import { describe, expect, layer } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import { DefaultLocation, type HeldLine } from "../../src/Domain/Lifecycle.js"
import type { CommitBatch, ProductWrite } from "../../src/Store/CommitBatch.js"
import { DatabaseLive } from "../../src/Store/Database.js"
import { StockStore } from "../../src/Store/StockStore.js"
import { batch, decision } from "../support/Intents.js"
import { makeMemoryStore } from "../support/MemoryStore.js"
import { testConfigLayer } from "../support/TestConfig.js"
import { freshDatabaseUrl } from "../support/TestDatabase.js"

// The commit's contract for backorders, against PostgreSQL's statement and the in-memory store alike:
// a promise stands only within the limit and only for what could not be reserved; orders never take
// units owed to promises; a fill stands only for the oldest order waiting there; only reserved units
// ship; a release drops the promises with the reservation.

const pid = (id: string) => id as ProductId
const oid = (id: string) => id as OrderId
const here = DefaultLocation
const product = (exists = true, create = false, backorderLimit?: number): ProductWrite => ({
  productId: pid("B"),
  locationId: here,
  exists,
  create,
  ...(backorderLimit !== undefined ? { backorderLimit } : {}),
})
const line = (quantity: number, backordered = 0): HeldLine =>
  backordered > 0
    ? { productId: pid("B"), locationId: here, quantity, backordered }
    : { productId: pid("B"), locationId: here, quantity }
const reserve = (order: string, quantity: number, backordered = 0) =>
  decision({
    step: {
      _tag: "Reserve",
      orderId: oid(order),
      reservationId: crypto.randomUUID(),
      lines: [line(quantity, backordered)],
      expiresAt: null,
    },
  })
const fill = (order: string, quantity: number) =>
  decision({ step: { _tag: "Fill", orderId: oid(order), lines: [line(quantity)], expiresAt: Date.now() + 60_000 } })
const arrive = (quantity: number) =>
  decision({
    changes: [
      {
        _tag: "Adjust",
        productId: pid("B"),
        locationId: here,
        quantity,
        adjustmentType: "received",
        reason: null,
        referenceId: null,
      },
    ],
  })

const contract = (name: string, store: Layer.Layer<StockStore>) =>
  layer(store, { excludeTestServices: true })(`backorders in the commit (${name})`, (it) => {
    const stock = Effect.flatMap(StockStore, (s) => s.loadStock([pid("B")])).pipe(Effect.map((rows) => rows[0]))
    const orderOf = (id: string) =>
      Effect.flatMap(StockStore, (s) => s.lookup([oid(id)], [])).pipe(Effect.map(({ known }) => known.get(oid(id))))
    const commit = (b: CommitBatch) =>
      Effect.flatMap(StockStore, (s) => Effect.either(s.commit(b))).pipe(
        Effect.map((r) => (Either.isLeft(r) && r.left._tag === "CommitConflict" ? r.left.reason : "committed")),
      )

    it.effect("promises within the limit only what could not be reserved", () =>
      Effect.gen(function* () {
        const initial = decision({ changes: [{ _tag: "Initial", productId: pid("B"), locationId: here, quantity: 2 }] })
        expect(yield* commit(batch([product(false, true, 5)], initial))).toBe("committed")
        // 2 available: a line of 2 promising 1 leaves one unit it could have had
        expect(yield* commit(batch([product()], reserve("b0", 2, 1)))).toBe("backordered while sellable")
        expect(yield* commit(batch([product()], reserve("b1", 4, 2)))).toBe("committed")
        expect(yield* stock).toMatchObject({ available: 0, reserved: 2, backordered: 2, backorderLimit: 5 })
        expect(yield* orderOf("b1")).toMatchObject({ status: "reserved", lines: [line(4, 2)] })
        // 3 more fit under the limit of 5, a fourth does not
        expect(yield* commit(batch([product()], reserve("b2", 4, 4)))).toBe("backorders over limit")
        expect(yield* commit(batch([product()], reserve("b2", 3, 3)))).toBe("committed")
        expect(yield* stock).toMatchObject({ available: 0, reserved: 2, backordered: 5 })
        // a refusal stands only when neither stock nor the limit's room could serve it
        const refuse = decision({
          step: { _tag: "Refuse", orderId: oid("b9"), productId: pid("B"), locations: [here], requested: 1 },
        })
        expect(yield* commit(batch([product()], refuse))).toBe("committed")
      }),
    )

    it.effect("keeps arriving units for the promises, and fills the oldest order first", () =>
      Effect.gen(function* () {
        expect(yield* commit(batch([product()], arrive(4)))).toBe("committed")
        // 4 available, 5 owed: no order may take them
        expect(yield* commit(batch([product()], reserve("b3", 1)))).toBe("not sellable")
        // b2 waits behind b1
        expect(yield* commit(batch([product()], fill("b2", 2)))).toBe("backorder filled out of turn")
        expect(yield* commit(batch([product()], fill("b1", 3)))).toBe("reservation lines changed elsewhere")
        expect(yield* commit(batch([product()], fill("b1", 2), fill("b2", 2)))).toBe("committed")
        expect(yield* stock).toMatchObject({ available: 0, reserved: 6, backordered: 1 })
        expect(yield* orderOf("b1")).toMatchObject({ lines: [line(4)] })
        expect(yield* orderOf("b2")).toMatchObject({ lines: [line(3, 1)] })
        // nothing left to fill with
        expect(yield* commit(batch([product()], fill("b2", 1)))).toMatch(/^not (sellable|available)$/)
      }),
    )

    it.effect("ships reserved units only, and drops promises on a release", () =>
      Effect.gen(function* () {
        const ship = (order: string, items: Array<HeldLine> | undefined, to: "fulfilled" | "partially_fulfilled") =>
          decision({
            step: {
              _tag: "Ship",
              orderId: oid(order),
              fulfillmentId: crypto.randomUUID(),
              items,
              to,
              at: new Date().toISOString(),
            },
          })
        expect(yield* commit(batch([product()], ship("b2", [line(3)], "fulfilled")))).toBe(
          "line holds less than shipped",
        )
        expect(yield* commit(batch([product()], ship("b2", undefined, "fulfilled")))).toBe("backordered units shipped")
        const rejection = (requested: number, held: number) =>
          decision({
            step: {
              _tag: "RejectFulfilment",
              orderId: oid("b2"),
              fulfillmentId: crypto.randomUUID(),
              reason: "backordered",
              productId: pid("B"),
              requested,
              held,
            },
          })
        expect(yield* commit(batch([product()], rejection(2, 2)))).toBe("fulfilment rejection no longer stands")
        expect(yield* commit(batch([product()], rejection(3, 2)))).toBe("committed")
        expect(yield* commit(batch([product()], ship("b2", [line(2)], "partially_fulfilled")))).toBe("committed")
        expect(yield* stock).toMatchObject({ available: 0, reserved: 4, onHand: 4, backordered: 1 })
        const release = decision({ step: { _tag: "Release", orderId: oid("b2"), reason: "cancelled" } })
        expect(yield* commit(batch([product()], release))).toBe("committed")
        expect(yield* stock).toMatchObject({ available: 0, reserved: 4, onHand: 4, backordered: 0 })
        expect(yield* orderOf("b2")).toMatchObject({ status: "released", lines: [] })
        // the limit may not drop below what is promised; with nothing promised it may
        expect(yield* commit(batch([product(true, false, 0)]))).toBe("committed")
      }),
    )
  })

const PostgresStore = Layer.unwrapScoped(
  freshDatabaseUrl("backorders").pipe(
    Effect.map((url) =>
      StockStore.Default.pipe(
        Layer.provideMerge(DatabaseLive),
        Layer.provideMerge(testConfigLayer({ DATABASE_URL: url })),
      ),
    ),
  ),
)

describe("backorders", () => {
  contract("PostgreSQL", PostgresStore.pipe(Layer.orDie))
  contract("memory", makeMemoryStore().layer as Layer.Layer<StockStore>)
})
