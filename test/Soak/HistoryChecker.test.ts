import { describe, expect, it } from "vitest"
import { checkHistory, type History, type LedgerRow } from "./HistoryChecker.js"

// The soak's checker must catch what it claims to catch: a consistent history passes, and each
// kind of defect planted in it is reported under its rule.

const at = (n: number) => `2026-11-29 10:00:00.${String(n).padStart(6, "0")}`
const ledger = (
  productId: string,
  movement: string,
  quantity: number,
  before: [number, number],
  after: [number, number],
  referenceId: string | null,
  when: number,
): LedgerRow => ({
  productId,
  movement,
  quantity,
  availableBefore: before[0],
  reservedBefore: before[1],
  availableAfter: after[0],
  reservedAfter: after[1],
  referenceId,
  at: at(when),
})
const reserved = (orderId: string, items: Array<[string, number]>, reservationId = `r-${orderId}`) => ({
  topic: "reserved" as const,
  key: orderId,
  eventId: `e-res-${orderId}`,
  body: {
    order_id: orderId,
    reservation_id: reservationId,
    items: items.map(([product_id, quantity]) => ({ product_id, quantity })),
  },
})
const released = (orderId: string, items: Array<[string, number]>, reason = "cancelled") => ({
  ...reserved(orderId, items),
  topic: "released" as const,
  eventId: `e-rel-${orderId}`,
  body: { ...reserved(orderId, items).body, reason },
})
const fulfilled = (orderId: string, fulfillmentId: string, items: Array<[string, number]>) => ({
  topic: "fulfilled" as const,
  key: orderId,
  eventId: `e-ful-${orderId}-${fulfillmentId}`,
  body: {
    order_id: orderId,
    reservation_id: `r-${orderId}`,
    fulfillment_id: fulfillmentId,
    items: items.map(([product_id, quantity]) => ({ product_id, quantity })),
  },
})

/**
 * P starts at 5; o1 reserves 3, o2 asks 4 and is refused (2 left; its fulfilment f3 is refused too),
 * o3 reserves 1 and is cancelled; +10 restock; o5 reserves 2 and ships them in two fulfilments;
 * o6 reserves 1 and expires.
 */
const consistent = (): History => ({
  initial: new Map([["P", 5]]),
  orders: [
    { orderId: "o1", lines: [{ productId: "P", quantity: 3 }], cancelled: false, fulfilments: [] },
    { orderId: "o2", lines: [{ productId: "P", quantity: 4 }], cancelled: false, fulfilments: ["f3"] },
    { orderId: "o3", lines: [{ productId: "P", quantity: 1 }], cancelled: true, fulfilments: [] },
    { orderId: "o4", lines: [{ productId: "P", quantity: 1 }], cancelled: true, fulfilments: [] },
    { orderId: "o5", lines: [{ productId: "P", quantity: 2 }], cancelled: false, fulfilments: ["f1", "f2"] },
    { orderId: "o6", lines: [{ productId: "P", quantity: 1 }], cancelled: false, fulfilments: [] },
  ],
  adjustments: [{ productId: "P", quantity: 10, referenceId: "adj-1" }],
  events: [
    reserved("o1", [["P", 3]]),
    {
      topic: "out_of_stock",
      key: "o2",
      eventId: "e-oos-o2",
      body: { order_id: "o2", product_id: "P", requested_qty: 4, available_qty: 2 },
    },
    reserved("o3", [["P", 1]]),
    released("o3", [["P", 1]]),
    { topic: "adjusted", key: "P", eventId: "e-adj-1", body: { product_id: "P", quantity: 10, reference_id: "adj-1" } },
    {
      topic: "fulfillment_rejected",
      key: "o2",
      eventId: "e-fr-o2",
      body: { order_id: "o2", fulfillment_id: "f3", reason: "not_reserved" },
    },
    reserved("o5", [["P", 2]]),
    fulfilled("o5", "f1", [["P", 1]]),
    fulfilled("o5", "f2", [["P", 1]]),
    reserved("o6", [["P", 1]]),
    released("o6", [["P", 1]], "expired"),
  ],
  stock: [{ productId: "P", available: 10, reserved: 3, onHand: 13 }],
  ledger: [
    ledger("P", "initial", 5, [0, 0], [5, 0], null, 1),
    ledger("P", "reserve", 3, [5, 0], [2, 3], "o1", 2),
    ledger("P", "reserve", 1, [2, 3], [1, 4], "o3", 3),
    ledger("P", "release", 1, [1, 4], [2, 3], "o3", 4),
    ledger("P", "adjust", 10, [2, 3], [12, 3], "adj-1", 5),
    ledger("P", "reserve", 2, [12, 3], [10, 5], "o5", 6),
    ledger("P", "fulfil", 1, [10, 5], [10, 4], "o5", 7),
    ledger("P", "fulfil", 1, [10, 4], [10, 3], "o5", 8),
    ledger("P", "reserve", 1, [10, 3], [9, 4], "o6", 9),
    ledger("P", "release", 1, [9, 4], [10, 3], "o6", 10),
  ],
  reservations: [
    { orderId: "o1", status: "reserved", at: at(2), shortProductId: null, availableQty: null },
    { orderId: "o2", status: "rejected", at: at(2), shortProductId: "P", availableQty: 2 },
    { orderId: "o3", status: "released", at: at(3), shortProductId: null, availableQty: null },
    { orderId: "o4", status: "cancelled_before_create", at: at(3), shortProductId: null, availableQty: null },
    { orderId: "o5", status: "fulfilled", at: at(6), shortProductId: null, availableQty: null },
    { orderId: "o6", status: "expired", at: at(9), shortProductId: null, availableQty: null },
  ],
  expiryExpected: false,
})

const rules = (history: History) => checkHistory(history).violations.map((v) => v.rule)

describe("history checker", () => {
  it("passes a consistent history, repeats of an event id counted but harmless", () => {
    const history = consistent()
    const verdict = checkHistory({ ...history, events: [...history.events, history.events[0]!] })
    expect(verdict.violations).toEqual([])
    expect(verdict).toMatchObject({ lost: 0, doubled: 0, repeatedEvents: 1 })
  })

  it("catches an order with no outcome, and one with two", () => {
    const history = consistent()
    const lostOne = { ...history, reservations: history.reservations.filter((r) => r.orderId !== "o1") }
    expect(checkHistory(lostOne)).toMatchObject({ lost: 1 })
    const twice = { ...history, events: [...history.events, { ...reserved("o1", [["P", 3]]), eventId: "other" }] }
    expect(checkHistory(twice).doubled).toBe(1)
    expect(rules(twice)).toContain("exactly one outcome event per order")
  })

  it("catches a release of the wrong lines, a second release and a release nobody asked for", () => {
    const history = consistent()
    const wrong = {
      ...history,
      events: history.events.map((e) => (e.eventId === "e-rel-o3" ? released("o3", [["P", 2]]) : e)),
    }
    expect(rules(wrong)).toContain("nothing leaves a reservation twice")
    const again = { ...history, events: [...history.events, { ...released("o3", [["P", 1]]), eventId: "again" }] }
    expect(rules(again)).toContain("a reservation is released once")
    const uncalled = {
      ...history,
      orders: history.orders.map((o) => (o.orderId === "o1" ? o : o)),
      events: [...history.events, released("o1", [["P", 3]])],
    }
    expect(rules(uncalled)).toContain("a release only after a cancellation or an expiry")
  })

  it("catches a fulfilment applied twice or never answered, shipping past a release, an expiry after shipping", () => {
    const history = consistent()
    const twice = { ...history, events: [...history.events, { ...fulfilled("o5", "f1", [["P", 1]]), eventId: "x" }] }
    expect(rules(twice)).toContain("every fulfilment has exactly one outcome")
    expect(checkHistory(twice).doubled).toBe(1)
    const unanswered = { ...history, events: history.events.filter((e) => e.eventId !== "e-fr-o2") }
    expect(rules(unanswered)).toContain("every fulfilment has exactly one outcome")
    const overdrawn = { ...history, events: [...history.events, released("o5", [["P", 1]])] }
    expect(rules(overdrawn)).toContain("nothing leaves a reservation twice")
    const shippedThenExpired = {
      ...history,
      orders: history.orders.map((o) => (o.orderId === "o6" ? { ...o, fulfilments: ["f9"] } : o)),
      events: [...history.events, fulfilled("o6", "f9", [["P", 1]])],
    }
    expect(rules(shippedThenExpired)).toContain("only a reservation with nothing fulfilled expires")
  })

  it("catches a reservation nobody shipped still held when every one should have expired", () => {
    expect(rules({ ...consistent(), expiryExpected: true })).toContain(
      "a reservation nobody ships is released (cancelled or expired)",
    )
  })

  it("catches a false rejection: a figure the product never had at that commit (a phantom hold, an inflated one)", () => {
    const history = consistent()
    // o2 asks 2 and is refused with 1 while P never went below 2 in that commit: a phantom hold
    const phantom = {
      ...history,
      orders: history.orders.map((o) => (o.orderId === "o2" ? { ...o, lines: [{ productId: "P", quantity: 2 }] } : o)),
      events: history.events.map((e) =>
        e.eventId === "e-oos-o2" ? { ...e, body: { ...e.body, requested_qty: 2, available_qty: 1 } } : e,
      ),
    }
    expect(rules(phantom)).toContain(
      "no false rejection: an out_of_stock reports a level the product had at that commit",
    )
    // refused 7 with 6 when the product had 5 then 2 in that commit
    const inflated = {
      ...history,
      orders: history.orders.map((o) => (o.orderId === "o2" ? { ...o, lines: [{ productId: "P", quantity: 7 }] } : o)),
      events: history.events.map((e) =>
        e.eventId === "e-oos-o2" ? { ...e, body: { ...e.body, requested_qty: 7, available_qty: 6 } } : e,
      ),
    }
    expect(rules(inflated)).toContain(
      "no false rejection: an out_of_stock reports a level the product had at that commit",
    )
    // refused 4 with 3: short in every state (5 → 2), yet 3 is a level P never had at that commit
    const between = {
      ...history,
      events: history.events.map((e) =>
        e.eventId === "e-oos-o2" ? { ...e, body: { ...e.body, available_qty: 3 } } : e,
      ),
    }
    expect(rules(between)).toContain(
      "no false rejection: an out_of_stock reports a level the product had at that commit",
    )
  })

  it("catches events for an order cancelled before it was created", () => {
    const history = consistent()
    const leaked = { ...history, events: [...history.events, reserved("o4", [["P", 1]])] }
    expect(rules(leaked)).toContain("nothing for an order cancelled before it was created")
  })

  it("catches a row that does not add up and a ledger that does not replay to it", () => {
    const history = consistent()
    const drifted = { ...history, stock: [{ productId: "P", available: 9, reserved: 4, onHand: 13 }] }
    expect(rules(drifted)).toEqual(
      expect.arrayContaining(["reserved is what the events say is held", "the ledger replays to the row"]),
    )
    const gap = { ...history, ledger: history.ledger.filter((r) => r.referenceId !== "o1") }
    expect(rules(gap)).toContain("the ledger replays without gaps")
  })

  it("keeps promises per location: a row whose backordered is not what the events promise, or over its limit", () => {
    const history = consistent()
    // o7 takes nothing at the store and promises 2 there; nothing arrives
    const store = { productId: "P", locationId: "store", available: 0, reserved: 0, onHand: 0 }
    const promising = {
      ...history,
      initial: new Map([...history.initial, ["P@store", 0]]),
      orders: [
        ...history.orders,
        { orderId: "o7", lines: [{ productId: "P", quantity: 2 }], cancelled: false, fulfilments: [] },
      ],
      events: [
        ...history.events,
        {
          topic: "reserved" as const,
          key: "o7",
          eventId: "e-res-o7",
          body: {
            order_id: "o7",
            reservation_id: "r-o7",
            items: [
              {
                product_id: "P",
                quantity: 2,
                backordered: 2,
                allocations: [{ location_id: "store", quantity: 2, backordered: 2 }],
              },
            ],
          },
        },
      ],
      reservations: [
        ...history.reservations,
        { orderId: "o7", status: "reserved", at: at(20), shortProductId: null, availableQty: null },
      ],
      expiryExpected: false,
    }
    const rule = "backordered is what the events say is promised, within the limit"
    expect(
      rules({ ...promising, stock: [...history.stock, { ...store, backordered: 2, backorderLimit: 5 }] }),
    ).not.toContain(rule)
    expect(
      rules({ ...promising, stock: [...history.stock, { ...store, backordered: 1, backorderLimit: 5 }] }),
    ).toContain(rule)
    expect(
      rules({ ...promising, stock: [...history.stock, { ...store, backordered: 2, backorderLimit: 1 }] }),
    ).toContain(rule)
  })

  it("catches an adjustment applied twice or never announced", () => {
    const history = consistent()
    const twice = { ...history, ledger: [...history.ledger, ledger("P", "adjust", 10, [10, 3], [20, 3], "adj-1", 11)] }
    expect(rules(twice)).toContain("an adjustment has exactly one ledger row")
    const silent = { ...history, events: history.events.filter((e) => e.topic !== "adjusted") }
    expect(rules(silent)).toContain("an adjustment has exactly one event")
  })
})
