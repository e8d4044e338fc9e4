import type { Line, ProducedOrder, SeenEvent } from "./HistoryChecker.js"

// One reserved order's story after its reservation: fulfilments (whole or partial, each applied
// once), at most one release (a cancellation, or an expiry of a reservation with nothing
// fulfilled) of exactly what was still held, and a database status that tells the same story.

/** An event's items per product (a product's allocations added up; a release's dropped promises count as released). */
export const linesOf = (body: Record<string, unknown>): Array<Line> => {
  const totals = new Map<string, number>()
  for (const i of (body.items as Array<{ product_id: string; quantity: number; backordered?: number }> | undefined) ??
    []) {
    const released = "released_at" in body ? (i.backordered ?? 0) : 0
    totals.set(i.product_id, (totals.get(i.product_id) ?? 0) + i.quantity + released)
  }
  return [...totals]
    .map(([productId, quantity]) => ({ productId, quantity }))
    .sort((a, b) => (a.productId < b.productId ? -1 : 1))
}

const sum = (lines: ReadonlyArray<Line>) => {
  const totals = new Map<string, number>()
  for (const l of lines) totals.set(l.productId, (totals.get(l.productId) ?? 0) + l.quantity)
  return totals
}

/** Every fulfilment produced for the order has exactly one outcome, and none applies twice. */
export const checkFulfilments = (
  order: ProducedOrder,
  events: ReadonlyArray<SeenEvent>,
  fail: (rule: string, detail: string) => void,
) => {
  const outcomes = new Map<string, Array<string>>()
  for (const e of events) {
    if (e.topic !== "fulfilled" && e.topic !== "fulfillment_rejected") continue
    const id = String(e.body.fulfillment_id)
    outcomes.set(id, [...(outcomes.get(id) ?? []), e.topic])
  }
  for (const id of order.fulfilments) {
    const seen = outcomes.get(id) ?? []
    if (seen.length !== 1) fail("every fulfilment has exactly one outcome", `${id}: ${seen.join(", ") || "none"}`)
  }
  return [...outcomes.values()].some((seen) => seen.filter((t) => t === "fulfilled").length > 1) ? 1 : 0
}

/** Checks what followed a reservation; returns what left the reservation (for the products' books). */
export const checkReservation = (
  order: ProducedOrder,
  reserved: SeenEvent,
  events: ReadonlyArray<SeenEvent>,
  status: string,
  expiryExpected: boolean,
  fail: (rule: string, detail: string) => void,
) => {
  const held = linesOf(reserved.body)
  const shipped = events.filter((e) => e.topic === "fulfilled").flatMap((e) => linesOf(e.body))
  const releases = events.filter((e) => e.topic === "released")
  let doubled = checkFulfilments(order, events, fail)
  if (releases.length > 1) {
    doubled++
    fail("a reservation is released once", `${releases.length} releases`)
  }
  const release = releases[0]
  const released = release ? linesOf(release.body) : []
  const shippedOf = sum(shipped)
  const releasedOf = sum(released)
  const heldOf = sum(held)
  for (const p of [...shippedOf.keys(), ...releasedOf.keys()])
    if (!heldOf.has(p)) fail("only reserved lines are shipped or released", p)
  let everything = true
  for (const l of held) {
    const gone = (shippedOf.get(l.productId) ?? 0) + (releasedOf.get(l.productId) ?? 0)
    if (gone > l.quantity) fail("nothing leaves a reservation twice", `${l.productId}: ${gone} of ${l.quantity}`)
    if (release && gone !== l.quantity) fail("a release gives back what was still held", `${l.productId}`)
    if ((shippedOf.get(l.productId) ?? 0) !== l.quantity) everything = false
  }
  if (release) {
    if (release.body.reservation_id !== reserved.body.reservation_id) fail("a release names its reservation", "")
    if (release.body.reason === "expired") {
      if (shipped.length > 0) fail("only a reservation with nothing fulfilled expires", "")
    } else if (release.body.reason !== "cancelled" || !order.cancelled) {
      fail("a release only after a cancellation or an expiry", String(release.body.reason))
    }
  }
  const expected = release
    ? release.body.reason === "expired"
      ? "expired"
      : "released"
    : everything
      ? "fulfilled"
      : shipped.length > 0
        ? "partially_fulfilled"
        : "reserved"
  if (status !== expected) fail("the database agrees with the events", `expected ${expected}`)
  if (expected === "reserved" && (order.cancelled || expiryExpected))
    fail("a reservation nobody ships is released (cancelled or expired)", "still reserved")
  return { doubled, held, shipped, released }
}
