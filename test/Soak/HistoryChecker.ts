// The soak's checker: given everything that happened in a run (what was produced, every event seen
// on the output topics, the HTTP answers and the final database), it lists the rules broken, each
// with the history of the order or product that shows it. Pure: it is tested on its own.

import { checkFulfilments, checkReservation, linesOf } from "./OrderStory.js"

export interface Line {
  readonly productId: string
  readonly quantity: number
}

/** An order as produced, its lines summed per product. */
export interface ProducedOrder {
  readonly orderId: string
  readonly lines: ReadonlyArray<Line>
  /** a cancellation was produced (before or after the order) */
  readonly cancelled: boolean
  /** the fulfilment ids produced for it */
  readonly fulfilments: ReadonlyArray<string>
}

/** An adjustment the service answered 201 to (others had no effect). */
export interface AppliedAdjustment {
  readonly productId: string
  /** default: `default` */
  readonly locationId?: string
  readonly quantity: number
  readonly referenceId: string
}

export interface SeenEvent {
  readonly topic:
    | "reserved"
    | "released"
    | "out_of_stock"
    | "fulfilled"
    | "fulfillment_rejected"
    | "adjusted"
    | "backorder_filled"
    | "other"
  readonly key: string
  readonly eventId: string
  readonly body: Record<string, unknown>
}

export interface StockRow {
  readonly productId: string
  /** default: `default` */
  readonly locationId?: string
  readonly available: number
  readonly reserved: number
  readonly onHand: number
  readonly backordered?: number
  readonly backorderLimit?: number
}

/** A transfer as the database recorded it. */
export interface TransferRow {
  readonly productId: string
  readonly from: string
  readonly to: string
  readonly quantity: number
  readonly received: number
}

export interface LedgerRow {
  readonly productId: string
  /** default: `default` */
  readonly locationId?: string
  readonly movement: string
  readonly quantity: number
  readonly availableBefore: number
  readonly availableAfter: number
  readonly reservedBefore: number
  readonly reservedAfter: number
  readonly referenceId: string | null
  /** the commit's time, microseconds: rows of one commit share it */
  readonly at: string
}

export interface ReservationRow {
  readonly orderId: string
  readonly status: string
  readonly at: string
  readonly shortProductId: string | null
  readonly availableQty: number | null
}

export interface History {
  /** by product, or by `placeKey(product, location)` for stock away from `default` */
  readonly initial: ReadonlyMap<string, number>
  readonly orders: ReadonlyArray<ProducedOrder>
  readonly adjustments: ReadonlyArray<AppliedAdjustment>
  readonly events: ReadonlyArray<SeenEvent>
  readonly stock: ReadonlyArray<StockRow>
  /** ordered by id */
  readonly ledger: ReadonlyArray<LedgerRow>
  readonly reservations: ReadonlyArray<ReservationRow>
  readonly transfers?: ReadonlyArray<TransferRow>
  /** reservations expire (the run waited past their due time): none nobody shipped is still held */
  readonly expiryExpected: boolean
}

export interface Violation {
  readonly rule: string
  readonly subject: string
  readonly detail: string
}

export interface Verdict {
  readonly violations: ReadonlyArray<Violation>
  readonly lost: number
  readonly doubled: number
  readonly repeatedEvents: number
  readonly events: number
}

const sameLines = (a: ReadonlyArray<Line>, b: ReadonlyArray<Line>) =>
  a.length === b.length && a.every((l, i) => l.productId === b[i]!.productId && l.quantity === b[i]!.quantity)

const push = <K, V>(map: Map<K, Array<V>>, key: K, value: V) => {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else list.push(value)
}

/** The index of the first row whose time is not before `at` (rows sorted by time). */
const firstAtOrAfter = (rows: ReadonlyArray<LedgerRow>, at: string) => {
  let low = 0
  let high = rows.length
  while (low < high) {
    const mid = (low + high) >> 1
    if (rows[mid]!.at < at) low = mid + 1
    else high = mid
  }
  return low
}

/** A product at a location, as the books are kept; a product's `default` stock is keyed by its id alone. */
export const placeKey = (productId: string, locationId = "default") =>
  locationId === "default" ? productId : `${productId}@${locationId}`

type Located = { product_id: string; quantity: number; location_id?: string; backordered?: number }
const itemsOf = (body: Record<string, unknown>) => (body.items as Array<Located> | undefined) ?? []

/**
 * What the events say each place holds reserved, promises and shipped: reservations by their
 * allocations (less what they promise), fills, releases and shipments by their items' locations.
 */
const booksOfEvents = (events: Iterable<SeenEvent>) => {
  const held = new Map<string, number>()
  const promised = new Map<string, number>()
  const shipped = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n)
  for (const e of events) {
    for (const item of itemsOf(e.body)) {
      const at = (location?: string) => placeKey(item.product_id, location)
      if (e.topic === "reserved") {
        type Allocation = { location_id: string; quantity: number; backordered?: number }
        const allocations = (item as { allocations?: Array<Allocation> }).allocations
        const all: Array<Allocation> = allocations ?? [{ location_id: "default", quantity: item.quantity }]
        for (const a of all) {
          add(held, at(a.location_id), a.quantity - (a.backordered ?? 0))
          add(promised, at(a.location_id), a.backordered ?? 0)
        }
      } else if (e.topic === "backorder_filled") {
        add(held, at(item.location_id), item.quantity)
        add(promised, at(item.location_id), -item.quantity)
      } else if (e.topic === "released") {
        add(held, at(item.location_id), -item.quantity)
        add(promised, at(item.location_id), -(item.backordered ?? 0))
      } else if (e.topic === "fulfilled") {
        add(held, at(item.location_id), -item.quantity)
        add(shipped, at(item.location_id), item.quantity)
      }
    }
  }
  return { held, promised, shipped }
}

const show = (lines: ReadonlyArray<Line>) => lines.map((l) => `${l.productId}×${l.quantity}`).join(" ")

export const checkHistory = (history: History): Verdict => {
  const violations: Array<Violation> = []
  const fail = (rule: string, subject: string, detail: string) => violations.push({ rule, subject, detail })

  // Events, once per event_id (a repeat is what a consumer drops).
  const distinct = new Map<string, SeenEvent>()
  for (const e of history.events) if (!distinct.has(e.eventId)) distinct.set(e.eventId, e)
  const repeatedEvents = history.events.length - distinct.size
  const byOrder = new Map<string, Array<SeenEvent>>()
  const adjustedRefs = new Map<string, number>()
  for (const e of distinct.values()) {
    if (e.topic === "adjusted") {
      const ref = String(e.body.reference_id ?? "")
      adjustedRefs.set(ref, (adjustedRefs.get(ref) ?? 0) + 1)
    } else if (e.topic !== "other") push(byOrder, e.key, e)
  }
  const rows = new Map(history.reservations.map((r) => [r.orderId, r]))
  const ledgerOf = new Map<string, Array<LedgerRow>>()
  for (const row of history.ledger) push(ledgerOf, placeKey(row.productId, row.locationId), row)
  const timeline = new Map(
    [...ledgerOf].map(([id, rows]) => [id, [...rows].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))]),
  )

  // Per order: exactly one outcome, a release only after a reservation and of exactly its lines.
  let lost = 0
  let doubled = 0
  const { held, promised, shipped: shippedOf } = booksOfEvents(distinct.values())
  const places = new Map<string, number>()
  for (const s of history.stock) places.set(s.productId, (places.get(s.productId) ?? 0) + 1)
  for (const order of history.orders) {
    const id = order.orderId
    const events = byOrder.get(id) ?? []
    const outcomes = events.filter((e) => e.topic === "reserved" || e.topic === "out_of_stock")
    const releases = events.filter((e) => e.topic === "released")
    const row = rows.get(id)
    const story = () =>
      `produced ${show(order.lines)}${order.cancelled ? " + cancel" : ""}${
        order.fulfilments.length > 0 ? ` + fulfilments ${order.fulfilments.join(",")}` : ""
      }; row ${row ? row.status : "none"}; events ${
        events.map((e) => `${e.topic}(${show(linesOf(e.body)) || JSON.stringify(e.body)})`).join(", ") || "none"
      }`
    if (row === undefined) {
      lost++
      fail("every order has an outcome", id, story())
      continue
    }
    if (row.status === "cancelled_before_create") {
      if (!order.cancelled) fail("cancelled before create only when a cancellation was produced", id, story())
      // a fulfilment of it is refused, and nothing else is published
      if (events.some((e) => e.topic !== "fulfillment_rejected"))
        fail("nothing for an order cancelled before it was created", id, story())
      checkFulfilments(order, events, (rule, detail) => fail(rule, id, `${story()}; ${detail}`))
      continue
    }
    if (outcomes.length !== 1) {
      if (outcomes.length > 1) doubled++
      else lost++
      fail("exactly one outcome event per order", id, story())
      continue
    }
    const outcome = outcomes[0]!
    if (outcome.topic === "reserved") {
      if (!sameLines(linesOf(outcome.body), order.lines)) fail("a reservation holds every line", id, story())
      const after = checkReservation(order, outcome, events, row.status, history.expiryExpected, (rule, detail) =>
        fail(rule, id, `${story()}; ${detail}`),
      )
      doubled += after.doubled
    } else {
      if (releases.length > 0) fail("a release only after a reservation", id, story())
      if (events.some((e) => e.topic === "fulfilled")) fail("only a reservation is fulfilled", id, story())
      checkFulfilments(order, events, (rule, detail) => fail(rule, id, `${story()}; ${detail}`))
      if (row.status !== "rejected") fail("the database agrees with the events", id, story())
      // the level a refusal reports is checked where it is one product's row (over several locations,
      // and where promises are owed, it is a sum the ledger does not show as one figure)
      const short = String(outcome.body.product_id)
      if ((places.get(short) ?? 0) <= 1) checkRejection(order, outcome, row, timeline, history.initial, fail)
      else if (Number(outcome.body.available_qty) >= Number(outcome.body.requested_qty))
        fail("an out_of_stock is short", id, JSON.stringify(outcome.body))
    }
  }

  // Per adjustment answered 201: exactly one event, exactly one ledger row.
  const adjustRows = new Map<string, number>()
  for (const row of history.ledger) {
    if (row.movement === "adjust" && row.referenceId !== null)
      adjustRows.set(row.referenceId, (adjustRows.get(row.referenceId) ?? 0) + 1)
  }
  for (const a of history.adjustments) {
    if (adjustedRefs.get(a.referenceId) !== 1)
      fail("an adjustment has exactly one event", a.referenceId, `events ${adjustedRefs.get(a.referenceId) ?? 0}`)
    if (adjustRows.get(a.referenceId) !== 1)
      fail("an adjustment has exactly one ledger row", a.referenceId, `rows ${adjustRows.get(a.referenceId) ?? 0}`)
  }

  // Per product and location: the row adds up, and the ledger replays to it.
  const adjusted = new Map<string, number>()
  const bump = (key: string, n: number) => adjusted.set(key, (adjusted.get(key) ?? 0) + n)
  for (const a of history.adjustments) bump(placeKey(a.productId, a.locationId), a.quantity)
  // units transferred count as adjustments: out of the source when sent, into the destination as received
  for (const t of history.transfers ?? []) {
    bump(placeKey(t.productId, t.from), -t.quantity)
    bump(placeKey(t.productId, t.to), t.received)
  }
  for (const s of history.stock) {
    const id = placeKey(s.productId, s.locationId)
    const initial = history.initial.get(id) ?? 0
    const ledger = ledgerOf.get(id) ?? []
    const story = () =>
      `row available ${s.available} reserved ${s.reserved} on_hand ${s.onHand}; initial ${initial}, adjusted ${
        adjusted.get(id) ?? 0
      }, shipped ${shippedOf.get(id) ?? 0}, held by events ${held.get(id) ?? 0}; ledger tail ${ledger
        .slice(-6)
        .map(
          (r) =>
            `${r.movement} ${r.quantity} ${r.availableBefore}/${r.reservedBefore}→${r.availableAfter}/${r.reservedAfter}`,
        )
        .join("; ")}`
    if (s.available < 0 || s.reserved < 0 || s.onHand !== s.available + s.reserved)
      fail("no oversell: the row balances", id, story())
    if (s.onHand !== initial + (adjusted.get(id) ?? 0) - (shippedOf.get(id) ?? 0))
      fail("on hand is the initial stock plus adjustments minus what shipped", id, story())
    if (s.reserved !== (held.get(id) ?? 0)) fail("reserved is what the events say is held", id, story())
    const backordered = s.backordered ?? 0
    if (backordered !== (promised.get(id) ?? 0) || backordered > (s.backorderLimit ?? 0))
      fail(
        "backordered is what the events say is promised, within the limit",
        id,
        `backordered ${backordered} (limit ${s.backorderLimit ?? 0}), promised by events ${promised.get(id) ?? 0}`,
      )
    let available = 0
    let reserved = 0
    for (const [i, r] of ledger.entries()) {
      if (r.availableBefore !== available || r.reservedBefore !== reserved) {
        fail(
          "the ledger replays without gaps",
          id,
          `row ${i} (${r.movement}, ${r.referenceId}) starts from ${r.availableBefore}/${r.reservedBefore}, the one before ended at ${available}/${reserved}`,
        )
        break
      }
      available = r.availableAfter
      reserved = r.reservedAfter
    }
    if (available !== s.available || reserved !== s.reserved) fail("the ledger replays to the row", id, story())
  }
  return { violations, lost, doubled, repeatedEvents, events: history.events.length }
}

/**
 * An out_of_stock must rest on what the product really had when the order was decided: one of the
 * levels its available quantity went through in the commit that recorded the rejection (rows of
 * one commit share their time), or, when that commit did not touch the product, the level the
 * commit before left. A figure that is none of those is a false rejection: it rested on a hold in
 * memory that never became part of the product's history (a phantom hold, or a saga's hold given
 * back a moment later).
 */
const checkRejection = (
  order: ProducedOrder,
  outcome: SeenEvent,
  row: ReservationRow,
  timeline: ReadonlyMap<string, ReadonlyArray<LedgerRow>>,
  initial: ReadonlyMap<string, number>,
  fail: (rule: string, subject: string, detail: string) => void,
) => {
  const productId = String(outcome.body.product_id)
  const requested = Number(outcome.body.requested_qty)
  const available = Number(outcome.body.available_qty)
  const line = order.lines.find((l) => l.productId === productId)
  if (line === undefined || line.quantity !== requested) {
    fail("an out_of_stock names a line of the order", order.orderId, JSON.stringify(outcome.body))
    return
  }
  if (available >= requested) fail("an out_of_stock is short", order.orderId, JSON.stringify(outcome.body))
  const rows = timeline.get(productId) ?? []
  const from = firstAtOrAfter(rows, row.at)
  let to = from
  while (to < rows.length && rows[to]!.at === row.at) to++
  const candidates = new Set<number>([
    from > 0 ? rows[from - 1]!.availableAfter : (initial.get(productId) ?? 0),
    ...rows.slice(from, to).flatMap((r) => [r.availableBefore, r.availableAfter]),
  ])
  const states = [...candidates]
  const story = `reported ${available} of ${productId} (requested ${requested}); the product went through ${states.join(", ")} at that commit (${row.at})`
  if (!candidates.has(available))
    fail("no false rejection: an out_of_stock reports a level the product had at that commit", order.orderId, story)
}
