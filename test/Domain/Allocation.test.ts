import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import {
  type AllocationStrategy,
  allocate,
  candidatesFor,
  type LineRequest,
  type Location,
  type Supply,
} from "../../src/Domain/Allocation.js"

const locationIds = ["L1", "L2", "L3"]
const productIds = ["P1", "P2"]

const locations = fc.tuple(
  ...locationIds.map((id) =>
    fc.record({
      id: fc.constant(id),
      priority: fc.integer({ min: 0, max: 3 }),
      channels: fc.subarray(["web", "store"]),
      active: fc.boolean(),
    }),
  ),
)

/** supply per product and location; a missing entry: the location does not stock the product */
const supplies = fc.dictionary(
  fc.constantFrom(...productIds.flatMap((p) => locationIds.map((l) => `${p}@${l}`))),
  fc.record({ sellable: fc.oneof(fc.constant(0), fc.nat(12)), backorderRoom: fc.oneof(fc.constant(0), fc.nat(6)) }),
)

const lines = fc.array(
  fc.record({
    productId: fc.constantFrom(...productIds),
    quantity: fc.integer({ min: 1, max: 15 }),
    pinned: fc.option(fc.constantFrom(...locationIds, "nowhere"), { nil: undefined }),
  }),
  { minLength: 1, maxLength: 4 },
)

const strategy = fc.constantFrom<AllocationStrategy>("single_first", "priority")
const channel = fc.option(fc.constantFrom("web", "store", "phone"), { nil: undefined })

const supplyOf = (table: Record<string, Supply>) => (productId: string, locationId: string) =>
  table[`${productId}@${locationId}`]

/** What each product can give at the line's places, pooled: the order fits iff every product's lines fit. */
const fits = (ls: ReadonlyArray<LineRequest>, candidates: ReadonlyArray<Location>, table: Record<string, Supply>) => {
  const ids = candidates.map((c) => c.id)
  if (ls.some((l) => l.pinned !== undefined && !ids.includes(l.pinned))) return false
  const capacity = (p: string, l: string) =>
    (table[`${p}@${l}`]?.sellable ?? 0) + (table[`${p}@${l}`]?.backorderRoom ?? 0)
  return productIds.every((p) => {
    const mine = ls.filter((l) => l.productId === p)
    const pinnedAt = (l: string) => mine.filter((x) => x.pinned === l).reduce((s, x) => s + x.quantity, 0)
    const total = mine.reduce((s, x) => s + x.quantity, 0)
    return ids.every((l) => pinnedAt(l) <= capacity(p, l)) && total <= ids.reduce((s, l) => s + capacity(p, l), 0)
  })
}

describe("allocation over locations", () => {
  it("covers every line exactly, within each location's stock and backorder room, at its pin or the channel's locations", () =>
    fc.assert(
      fc.property(lines, locations, supplies, strategy, channel, (ls, locs, table, strat, ch) => {
        const candidates = candidatesFor(locs, ch)
        const result = allocate(ls, candidates, supplyOf(table), strat)
        expect(Either.isRight(result)).toBe(fits(ls, candidates, table))
        if (Either.isLeft(result)) return
        const used = new Map<string, { reserved: number; backordered: number }>()
        result.right.forEach((line, i) => {
          expect(line.productId).toBe(ls[i]!.productId)
          expect(line.allocations.reduce((s, a) => s + a.quantity, 0)).toBe(ls[i]!.quantity)
          for (const a of line.allocations) {
            expect(a.quantity).toBeGreaterThan(0)
            expect(a.backordered).toBeGreaterThanOrEqual(0)
            expect(a.backordered).toBeLessThanOrEqual(a.quantity)
            if (ls[i]!.pinned !== undefined) expect(a.locationId).toBe(ls[i]!.pinned)
            else expect(candidates.map((c) => c.id)).toContain(a.locationId)
            const k = `${line.productId}@${a.locationId}`
            const u = used.get(k) ?? { reserved: 0, backordered: 0 }
            used.set(k, {
              reserved: u.reserved + a.quantity - a.backordered,
              backordered: u.backordered + a.backordered,
            })
          }
        })
        for (const [k, u] of used) {
          expect(u.reserved).toBeLessThanOrEqual(table[k]?.sellable ?? 0)
          expect(u.backordered).toBeLessThanOrEqual(table[k]?.backorderRoom ?? 0)
        }
        // a unit is backordered only once the product's line has no sellable unit left at any of its places
        result.right.forEach((line, i) => {
          if (!line.allocations.some((a) => a.backordered > 0)) return
          const pin = ls[i]!.pinned
          const places = pin !== undefined ? [pin] : candidates.map((c) => c.id)
          for (const l of places) {
            expect(used.get(`${line.productId}@${l}`)?.reserved ?? 0).toBe(
              table[`${line.productId}@${l}`]?.sellable ?? 0,
            )
          }
        })
      }),
      { numRuns: 5_000 },
    ))

  it.prop(
    "single_first serves from the best location that can sell every line, when there is one",
    [lines.map((ls) => ls.map((l) => ({ ...l, pinned: undefined }))), locations, supplies, channel],
    ([ls, locs, table, ch]) => {
      const candidates = candidatesFor(locs, ch)
      const wanted = new Map<string, number>()
      for (const l of ls) wanted.set(l.productId, (wanted.get(l.productId) ?? 0) + l.quantity)
      const best = candidates.find((c) => [...wanted].every(([p, q]) => (table[`${p}@${c.id}`]?.sellable ?? 0) >= q))
      const result = allocate(ls, candidates, supplyOf(table), "single_first")
      if (best === undefined) return
      expect(Either.isRight(result)).toBe(true)
      if (Either.isLeft(result)) return
      for (const line of result.right)
        expect(line.allocations).toEqual([{ locationId: best.id, quantity: line.quantity, backordered: 0 }])
    },
  )

  it("priority takes from the best location first and splits a line where it runs short", () => {
    const locs: Array<Location> = [
      { id: "east", priority: 20, channels: [], active: true },
      { id: "west", priority: 10, channels: [], active: true },
      { id: "shop", priority: 5, channels: ["store"], active: true },
    ]
    const table: Record<string, Supply> = {
      "P@west": { sellable: 3, backorderRoom: 0 },
      "P@east": { sellable: 10, backorderRoom: 0 },
      "P@shop": { sellable: 50, backorderRoom: 0 },
    }
    const result = allocate([{ productId: "P", quantity: 5 }], candidatesFor(locs, "web"), supplyOf(table), "priority")
    expect(result).toEqual(
      Either.right([
        {
          productId: "P",
          quantity: 5,
          allocations: [
            { locationId: "west", quantity: 3, backordered: 0 },
            { locationId: "east", quantity: 2, backordered: 0 },
          ],
        },
      ]),
    )
    // single_first keeps the line whole where one location can serve it
    const single = allocate(
      [{ productId: "P", quantity: 5 }],
      candidatesFor(locs, "web"),
      supplyOf(table),
      "single_first",
    )
    expect(Either.map(single, (ls) => ls[0]!.allocations)).toEqual(
      Either.right([{ locationId: "east", quantity: 5, backordered: 0 }]),
    )
  })

  it("backorders what is missing within the limit, and refuses beyond it with the sellable total", () => {
    const locs: Array<Location> = [{ id: "default", priority: 100, channels: [], active: true }]
    const table: Record<string, Supply> = { "P@default": { sellable: 2, backorderRoom: 3 } }
    expect(allocate([{ productId: "P", quantity: 5 }], locs, supplyOf(table), "single_first")).toEqual(
      Either.right([
        { productId: "P", quantity: 5, allocations: [{ locationId: "default", quantity: 5, backordered: 3 }] },
      ]),
    )
    expect(allocate([{ productId: "P", quantity: 6 }], locs, supplyOf(table), "single_first")).toEqual(
      Either.left({ productId: "P", requested: 6, available: 2 }),
    )
  })

  it("leaves a pinned line its location's backorder room, whatever order the lines come in", () => {
    const locs: Array<Location> = [
      { id: "near", priority: 1, channels: [], active: true },
      { id: "far", priority: 2, channels: [], active: true },
    ]
    const table: Record<string, Supply> = {
      "P@near": { sellable: 0, backorderRoom: 3 },
      "P@far": { sellable: 0, backorderRoom: 3 },
    }
    const result = allocate(
      [
        { productId: "P", quantity: 3 },
        { productId: "P", quantity: 3, pinned: "near" },
      ],
      locs,
      supplyOf(table),
      "priority",
    )
    expect(Either.map(result, (ls) => ls.map((l) => l.allocations))).toEqual(
      Either.right([
        [{ locationId: "far", quantity: 3, backordered: 3 }],
        [{ locationId: "near", quantity: 3, backordered: 3 }],
      ]),
    )
  })

  it("refuses a line pinned to a location the order cannot use, naming it", () => {
    const locs: Array<Location> = [
      { id: "default", priority: 100, channels: [], active: true },
      { id: "closed", priority: 1, channels: [], active: false },
    ]
    const table: Record<string, Supply> = { "P@closed": { sellable: 9, backorderRoom: 0 } }
    expect(
      allocate(
        [{ productId: "P", quantity: 1, pinned: "closed" }],
        candidatesFor(locs, undefined),
        supplyOf(table),
        "priority",
      ),
    ).toEqual(Either.left({ productId: "P", requested: 1, available: 0, unknownLocation: "closed" }))
  })
})
