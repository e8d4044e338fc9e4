import { Effect, Layer } from "effect"
import type { Location } from "../../src/Domain/Allocation.js"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import {
  DefaultLocation,
  type HeldLine,
  isHeld,
  type KnownOrder,
  type OrderStatus,
  stockKey,
} from "../../src/Domain/Lifecycle.js"
import type { StockLevel } from "../../src/Domain/Stock.js"
import type { CommitBatch, CommittedRow, OrderStep, StockChange } from "../../src/Store/CommitBatch.js"
import { CommitConflict } from "../../src/Store/Errors.js"
import { Outbox } from "../../src/Store/Outbox.js"
import { type StockRow, StockStore } from "../../src/Store/StockStore.js"

// The engine's store in memory (as `Accounts.Test` in Effect's examples), with the contract of the
// one-statement commit: it derives every row from the intents and judges them against the rows as
// committed, in decision order; a batch lands whole or not at all. The saga, actor and committer
// properties run against it in milliseconds without infrastructure. Stock rows and order lines are
// keyed by product and location (`stockKey`); `tables.stock.get(productId)` reads a product at `default`.

interface Line {
  readonly productId: ProductId
  readonly locationId: string
  quantity: number
  fulfilled: number
  released: number
  /** units of what it holds that are promised, not reserved */
  backordered: number
}

interface LedgerRow {
  readonly key: string
  readonly movement: string
  readonly quantity: number
  readonly before: StockLevel
  readonly after: StockLevel
}

/** A map of stock rows by `stockKey`, whose `get` also takes a bare product id (its row at `default`). */
class StockRows extends Map<string, StockRow> {
  override get(key: string): StockRow | undefined {
    return super.get(key) ?? super.get(stockKey(key, DefaultLocation))
  }
}

export interface MemoryTables {
  readonly stock: StockRows
  /** in the order they were recorded (oldest first: the order backorders are filled in) */
  readonly orders: Map<OrderId, { status: OrderStatus; reservationId: string | null; expiresAt: number | null }>
  readonly lines: Map<OrderId, Map<string, Line>>
  readonly ledger: Array<LedgerRow>
  readonly fulfillments: Set<string>
  readonly events: Array<{ readonly eventType: string; readonly key: string; readonly payload: string }>
  readonly transfers: Map<
    string,
    { readonly productId: ProductId; readonly to: string; quantity: number; received: number }
  >
}

const heldOf = (l: Pick<Line, "quantity" | "fulfilled" | "released">) => l.quantity - l.fulfilled - l.released
const reservedOf = (l: Line) => heldOf(l) - l.backordered
const none = { quantity: 0, fulfilled: 0, released: 0, backordered: 0 }

class Refused {
  constructor(readonly reason: string) {}
}

const oneLocation: ReadonlyArray<Location> = [{ id: DefaultLocation, priority: 100, channels: [], active: true }]

export const makeMemoryStore = (locations: ReadonlyArray<Location> = oneLocation) => {
  const tables: MemoryTables = {
    stock: new StockRows(),
    orders: new Map(),
    lines: new Map(),
    ledger: [],
    fulfillments: new Set(),
    events: [],
    transfers: new Map(),
  }
  const held = (orderId: OrderId): Array<HeldLine> =>
    [...(tables.lines.get(orderId)?.values() ?? [])]
      .map((l) =>
        l.backordered > 0
          ? { productId: l.productId, locationId: l.locationId, quantity: heldOf(l), backordered: l.backordered }
          : { productId: l.productId, locationId: l.locationId, quantity: heldOf(l) },
      )
      .filter((l) => l.quantity > 0)
      .sort((a, b) => (stockKey(a.productId, a.locationId) < stockKey(b.productId, b.locationId) ? -1 : 1))

  /** Applies the batch to copies of the tables; throws Refused where the statement would abort. */
  const apply = (batch: CommitBatch) => {
    const stock = new Map(tables.stock)
    const orders = new Map([...tables.orders].map(([id, o]) => [id, { ...o }]))
    const lines = new Map([...tables.lines].map(([id, ls]) => [id, new Map([...ls].map(([k, l]) => [k, { ...l }]))]))
    const fulfillments = new Set(tables.fulfillments)
    const transfers = new Map([...tables.transfers].map(([id, t]) => [id, { ...t }]))
    const ledger: Array<LedgerRow> = []
    const events: MemoryTables["events"] = []
    const refuse = (reason: string): never => {
      throw new Refused(reason)
    }
    const named = new Set(batch.products.map((p) => stockKey(p.productId, p.locationId)))
    const versions = new Map<string, number>()
    for (const p of batch.products) {
      const key = stockKey(p.productId, p.locationId)
      const row = stock.get(key)
      if (p.create || !p.exists) {
        if (row !== undefined) refuse("product created elsewhere")
        if (p.create) {
          stock.set(key, {
            productId: p.productId,
            locationId: p.locationId,
            ...{ available: 0, reserved: 0, onHand: 0 },
            threshold: p.threshold ?? 0,
            location: p.location ?? null,
            safetyStock: p.safetyStock ?? 0,
            backordered: 0,
            backorderLimit: p.backorderLimit ?? 0,
            version: 1,
          })
          versions.set(key, 1)
        }
      } else {
        // judged on the row as it is, whatever version memory saw
        if (row === undefined) refuse("stock row missing")
        stock.set(key, {
          ...row!,
          threshold: p.threshold ?? row!.threshold,
          location: p.location !== undefined ? p.location : row!.location,
          safetyStock: p.safetyStock ?? row!.safetyStock,
          backorderLimit: p.backorderLimit ?? row!.backorderLimit ?? 0,
          version: row!.version + 1,
        })
        versions.set(key, row!.version + 1)
      }
    }
    const levelOf = (key: string) => {
      const row = stock.get(key)
      return {
        available: row?.available ?? 0,
        safetyStock: row?.safetyStock ?? 0,
        backordered: row?.backordered ?? 0,
        backorderLimit: row?.backorderLimit ?? 0,
      }
    }
    /** promises made (negative: dropped or filled) at a place */
    const promise = (key: string, units: number) => {
      if (units === 0) return
      if (!named.has(key)) refuse("product not named")
      const row = stock.get(key)!
      stock.set(key, { ...row, backordered: (row.backordered ?? 0) + units })
    }
    const move = (key: string, movement: string, quantity: number, delta: StockLevel) => {
      if (!named.has(key)) refuse("product not named")
      const row = stock.get(key)!
      const after = {
        available: row.available + delta.available,
        reserved: row.reserved + delta.reserved,
        onHand: row.onHand + delta.onHand,
      }
      if (after.available < 0 || after.reserved < 0) refuse("not available")
      // a promise alone moves no stock: no ledger row
      const still = delta.available === 0 && delta.reserved === 0 && delta.onHand === 0
      if (still && (movement === "reserve" || movement === "release")) return
      if (row.available >= row.threshold && after.available < row.threshold) {
        events.push({ eventType: "inventory.low_stock", key: row.productId, payload: JSON.stringify(after) })
      }
      ledger.push({ key, movement, quantity, before: row, after })
      stock.set(key, { ...row, ...after })
    }
    const orderLines = (o: OrderId) => lines.get(o) ?? new Map<string, Line>()
    const step = (s: OrderStep) => {
      const order = orders.get(s.orderId)
      switch (s._tag) {
        case "Reserve":
        case "Refuse":
        case "CancelFirst": {
          if (order !== undefined) refuse("order already decided elsewhere")
          if (s._tag === "Refuse") {
            let sellable = 0
            let room = 0
            for (const locationId of s.locations) {
              const key = stockKey(s.productId, locationId)
              if (!named.has(key)) refuse("refused product not named")
              const level = levelOf(key)
              sellable += Math.max(0, level.available - level.safetyStock - level.backordered)
              room += Math.max(0, level.backorderLimit - level.backordered)
            }
            if (sellable + room >= s.requested) refuse("refusal no longer stands")
            events.push({
              eventType: "inventory.out_of_stock",
              key: s.orderId,
              payload: JSON.stringify({ available_qty: sellable }),
            })
          }
          for (const l of s._tag === "Reserve" ? s.lines : []) {
            const key = stockKey(l.productId, l.locationId)
            const level = levelOf(key)
            const promised = l.backordered ?? 0
            const taken = l.quantity - promised
            if (taken > 0 && level.available - taken < level.safetyStock + level.backordered) refuse("not sellable")
            if (promised > 0 && level.available - taken > level.safetyStock + level.backordered)
              refuse("backordered while sellable")
            move(key, "reserve", taken, { available: -taken, reserved: taken, onHand: 0 })
            promise(key, promised)
          }
          const status =
            s._tag === "Reserve" ? "reserved" : s._tag === "Refuse" ? "rejected" : "cancelled_before_create"
          orders.set(s.orderId, {
            status,
            reservationId: s._tag === "Reserve" ? s.reservationId : null,
            expiresAt: s._tag === "Reserve" ? s.expiresAt : null,
          })
          if (s._tag === "Reserve") {
            lines.set(
              s.orderId,
              new Map(
                s.lines.map((l) => [
                  stockKey(l.productId, l.locationId),
                  {
                    productId: l.productId,
                    locationId: l.locationId,
                    quantity: l.quantity,
                    fulfilled: 0,
                    released: 0,
                    backordered: l.backordered ?? 0,
                  },
                ]),
              ),
            )
          }
          return
        }
        case "RejectFulfilment": {
          const all = [...orderLines(s.orderId).values()]
          const total = all.reduce((n, l) => n + heldOf(l), 0)
          const ofProduct = all.filter(
            (l) => l.productId === s.productId && (s.locationId === undefined || l.locationId === s.locationId),
          )
          const line = ofProduct.reduce((n, l) => n + heldOf(l), 0)
          const reserved = ofProduct.reduce((n, l) => n + reservedOf(l), 0)
          const requested = s.requested ?? 0
          const stands =
            s.reason === "not_reserved"
              ? total === 0
              : s.reason === "unknown_line"
                ? total > 0 && line === 0
                : s.reason === "backordered"
                  ? line >= requested && reserved === s.held && reserved < requested
                  : line > 0 && line === s.held && s.held < requested
          if (!stands) refuse("fulfilment rejection no longer stands")
          if (fulfillments.has(`${s.orderId}/${s.fulfillmentId}`)) refuse("fulfilment already decided elsewhere")
          fulfillments.add(`${s.orderId}/${s.fulfillmentId}`)
          return
        }
        default: {
          if (order === undefined || !isHeld(order.status)) refuse("order not held as decided")
          if (s._tag === "Extend") {
            order!.expiresAt = s.expiresAt
            return
          }
          if (s._tag === "Fill") {
            const ls = orderLines(s.orderId)
            for (const f of s.lines) {
              const key = stockKey(f.productId, f.locationId)
              const line = ls.get(key)
              if (line === undefined || line.backordered < f.quantity) refuse("reservation lines changed elsewhere")
              const level = levelOf(key)
              if (level.available - f.quantity < level.safetyStock) refuse("not sellable")
              // oldest order first: no older held order still waits there (releases in this batch aside)
              for (const [o, other] of orders) {
                if (o === s.orderId) break
                const waiting = lines.get(o)?.get(key)
                if (isHeld(other.status) && waiting !== undefined && waiting.backordered > 0 && !releasing.has(o))
                  refuse("backorder filled out of turn")
              }
              line!.backordered -= f.quantity
              move(key, "reserve", f.quantity, { available: -f.quantity, reserved: f.quantity, onHand: 0 })
              promise(key, -f.quantity)
            }
            if (s.expiresAt !== null) order!.expiresAt = s.expiresAt
            events.push({ eventType: "inventory.backorder_filled", key: s.orderId, payload: JSON.stringify(s.lines) })
            return
          }
          if (s._tag === "Release" && s.reason === "expired") {
            const promised = [...orderLines(s.orderId).values()].some((l) => l.backordered > 0)
            if (order!.status !== "reserved" || order!.expiresAt === null || order!.expiresAt > Date.now() || promised)
              refuse("order not held as decided")
          }
          const ls = orderLines(s.orderId)
          if (s._tag === "Ship" && s.items === undefined && [...ls.values()].some((l) => l.backordered > 0))
            refuse("backordered units shipped")
          const taking =
            s._tag === "Ship" && s.items !== undefined
              ? s.items
              : [...ls.values()]
                  .filter((l) => heldOf(l) > 0)
                  .map((l) => ({ productId: l.productId, locationId: l.locationId, quantity: reservedOf(l) }))
          for (const t of taking) {
            const key = stockKey(t.productId, t.locationId)
            const line = ls.get(key)
            if (line === undefined || reservedOf(line) < t.quantity) refuse("line holds less than shipped")
            if (s._tag === "Ship") {
              line!.fulfilled += t.quantity
              move(key, "fulfil", t.quantity, { available: 0, reserved: -t.quantity, onHand: -t.quantity })
            } else {
              const dropped = line!.backordered
              line!.released += t.quantity + dropped
              line!.backordered = 0
              move(key, "release", t.quantity, { available: t.quantity, reserved: -t.quantity, onHand: 0 })
              promise(key, -dropped)
            }
          }
          const left = [...ls.values()].reduce((n, l) => n + heldOf(l), 0)
          const shipped = [...ls.values()].reduce((n, l) => n + l.fulfilled, 0)
          const status: OrderStatus =
            left > 0
              ? shipped > 0
                ? "partially_fulfilled"
                : "reserved"
              : s._tag === "Ship"
                ? "fulfilled"
                : s.reason === "expired"
                  ? "expired"
                  : "released"
          if (s._tag === "Ship") {
            if (status !== s.to) refuse("status not as decided")
            if (fulfillments.has(`${s.orderId}/${s.fulfillmentId}`)) refuse("fulfilment already decided elsewhere")
            fulfillments.add(`${s.orderId}/${s.fulfillmentId}`)
          }
          order!.status = status
          const type = s._tag === "Ship" ? "inventory.fulfilled" : "inventory.released"
          events.push({ eventType: type, key: s.orderId, payload: JSON.stringify({ items: taking }) })
        }
      }
    }
    const releasing = new Set(batch.decisions.flatMap((d) => (d.step?._tag === "Release" ? [d.step.orderId] : [])))
    const change = (c: StockChange) => {
      const key = stockKey(c.productId, c.locationId)
      const row = stock.get(key)
      if (c._tag === "Correct") {
        let held = 0
        let promised = 0
        for (const [o, ls] of lines) {
          if (!isHeld(orders.get(o)?.status ?? "unseen")) continue
          const l = ls.get(key) ?? none
          held += heldOf(l) - l.backordered
          promised += l.backordered
        }
        const onHand = Math.max(row?.onHand ?? 0, held)
        const after = { available: onHand - held, reserved: held, onHand }
        move(key, "adjust", onHand - (row?.onHand ?? 0), {
          available: after.available - (row?.available ?? 0),
          reserved: after.reserved - (row?.reserved ?? 0),
          onHand: after.onHand - (row?.onHand ?? 0),
        })
        promise(key, promised - (row?.backordered ?? 0))
        // a repair keeps the limit at least at what the lines promise
        const repaired = stock.get(key)!
        stock.set(key, { ...repaired, backorderLimit: Math.max(repaired.backorderLimit ?? 0, promised) })
        return
      }
      if (c._tag === "TransferOut" || c._tag === "TransferIn") {
        const out = c._tag === "TransferOut"
        const t = transfers.get(c.transferId)
        if (out) {
          if (t !== undefined) refuse("transfer already recorded")
          transfers.set(c.transferId, { productId: c.productId, to: c.toLocationId, quantity: c.quantity, received: 0 })
        } else {
          if (t === undefined || t.to !== c.locationId || t.quantity - t.received < c.quantity)
            refuse("transfer no longer in transit as decided")
          t!.received += c.quantity
        }
        const q = out ? -c.quantity : c.quantity
        move(key, out ? "transfer_out" : "transfer_in", q, { available: q, reserved: 0, onHand: q })
        return
      }
      if (c._tag === "Adjust") {
        if (c.expectedOnHand !== undefined && row?.onHand !== c.expectedOnHand) refuse("on hand moved")
        if (c.countedOnHand !== undefined && (row?.onHand ?? 0) + c.quantity !== c.countedOnHand)
          refuse("on hand moved")
      }
      move(key, c._tag === "Initial" ? "initial" : "adjust", c.quantity, {
        available: c.quantity,
        reserved: 0,
        onHand: c.quantity,
      })
    }
    const seen = new Set<OrderId>()
    for (const d of batch.decisions) {
      if (d.step !== undefined) {
        if (seen.has(d.step.orderId)) throw new Error("an order appears twice in one batch")
        seen.add(d.step.orderId)
        step(d.step)
      }
      for (const c of d.changes) change(c)
      events.push(...d.events.map((e) => ({ eventType: e.eventType, key: e.key, payload: e.payload })))
    }
    // the balance triggers: reserved and backordered are what held lines reserve and promise, for
    // every product the batch touched; and the promises within the limit
    for (const key of versions.keys()) {
      let holding = 0
      let promised = 0
      for (const [o, ls] of lines) {
        if (!isHeld(orders.get(o)?.status ?? "unseen")) continue
        const l = ls.get(key) ?? none
        holding += heldOf(l) - l.backordered
        promised += l.backordered
      }
      const row = stock.get(key)
      if (row?.reserved !== holding || (row?.backordered ?? 0) !== promised) refuse("books out of balance")
      if ((row?.backordered ?? 0) > (row?.backorderLimit ?? 0)) refuse("backorders over limit")
    }
    return { stock, orders, lines, fulfillments, transfers, ledger, events, versions }
  }

  const commit = (batch: CommitBatch) =>
    Effect.suspend(() => {
      try {
        const next = apply(batch)
        for (const [k, v] of next.stock) tables.stock.set(k, v)
        for (const [k, v] of next.orders) tables.orders.set(k, v)
        for (const [k, v] of next.lines) tables.lines.set(k, v)
        for (const k of next.fulfillments) tables.fulfillments.add(k)
        for (const [k, v] of next.transfers) tables.transfers.set(k, v)
        tables.ledger.push(...next.ledger)
        tables.events.push(...next.events)
        const rows = new Map<string, CommittedRow>()
        for (const [key, version] of next.versions) {
          const { available, reserved, onHand, backordered } = next.stock.get(key)!
          rows.set(key, { version, available, reserved, onHand, backordered: backordered ?? 0 })
        }
        return Effect.succeed(rows)
      } catch (e) {
        if (e instanceof Refused) return Effect.fail(new CommitConflict({ reason: e.reason, productIds: [] }))
        throw e
      }
    })

  const rowsOf = (ids: ReadonlyArray<ProductId>) => {
    const wanted = new Set<string>(ids)
    return [...tables.stock.values()].filter((r) => wanted.has(r.productId)).map((r) => ({ ...r }))
  }
  const loadStock = (ids: ReadonlyArray<ProductId>) => Effect.sync(() => rowsOf(ids))
  const loadLocations = Effect.succeed(locations)

  const lookup = (orderIds: ReadonlyArray<OrderId>, productIds: ReadonlyArray<ProductId>) =>
    Effect.sync(() => {
      const known = new Map<OrderId, KnownOrder>()
      const fulfilmentsOf = (id: OrderId) =>
        [...tables.fulfillments].filter((k) => k.startsWith(`${id}/`)).map((k) => k.slice(id.length + 1))
      for (const id of orderIds) {
        const order = tables.orders.get(id)
        if (order === undefined) {
          // fulfilments refused before the order was seen, as the real lookup reports them
          const refused = fulfilmentsOf(id)
          if (refused.length > 0)
            known.set(id, { status: "unseen", reservationId: null, lines: [], expiresAt: null, fulfillments: refused })
          continue
        }
        known.set(id, {
          status: order.status,
          reservationId: order.reservationId,
          lines: isHeld(order.status) ? held(id) : [],
          expiresAt: order.expiresAt,
          fulfillments: fulfilmentsOf(id),
        })
      }
      return { known, stock: rowsOf(productIds) }
    })

  /** The invariants of design.md over the tables: rows balance, reserved is what active orders hold, the ledger replays. */
  const violations = () => {
    const problems: Array<string> = []
    const holding = new Map<string, number>()
    const promising = new Map<string, number>()
    for (const [id, order] of tables.orders) {
      if (!isHeld(order.status)) continue
      for (const l of held(id)) {
        const key = stockKey(l.productId, l.locationId)
        holding.set(key, (holding.get(key) ?? 0) + l.quantity - (l.backordered ?? 0))
        promising.set(key, (promising.get(key) ?? 0) + (l.backordered ?? 0))
      }
    }
    const replay = new Map<string, StockLevel>()
    for (const r of tables.ledger) {
      const before = replay.get(r.key) ?? { available: 0, reserved: 0, onHand: 0 }
      if (before.available !== r.before.available || before.reserved !== r.before.reserved)
        problems.push(`${r.key}: ledger row ${r.movement} ${r.quantity} does not start where the one before ended`)
      replay.set(r.key, r.after)
    }
    for (const [id, row] of tables.stock) {
      if (row.available < 0 || row.reserved < 0 || row.onHand !== row.available + row.reserved)
        problems.push(`${id}: row does not balance`)
      if (row.reserved !== (holding.get(id) ?? 0))
        problems.push(`${id}: reserved ${row.reserved}, held ${holding.get(id) ?? 0}`)
      // invariant 7: promises add up and stay within the limit
      const promised = promising.get(id) ?? 0
      if ((row.backordered ?? 0) !== promised || (row.backordered ?? 0) > (row.backorderLimit ?? 0))
        problems.push(`${id}: backordered ${row.backordered}, promised ${promised}, limit ${row.backorderLimit}`)
      const end = replay.get(id)
      if (end === undefined || end.available !== row.available || end.reserved !== row.reserved)
        problems.push(`${id}: the ledger does not replay to the row`)
    }
    return problems
  }

  /** The lines stock could fill now, oldest order first (as the filler reads them from PostgreSQL). */
  const waiting = () => {
    const found: Array<{ orderId: OrderId; productId: ProductId; locationId: string }> = []
    for (const [orderId, order] of tables.orders) {
      if (!isHeld(order.status)) continue
      for (const l of tables.lines.get(orderId)?.values() ?? []) {
        const row = tables.stock.get(stockKey(l.productId, l.locationId))
        if (l.backordered > 0 && row !== undefined && row.available > row.safetyStock)
          found.push({ orderId, productId: l.productId, locationId: l.locationId })
      }
    }
    return found.sort((a, b) => (stockKey(a.productId, a.locationId) < stockKey(b.productId, b.locationId) ? -1 : 1))
  }

  const layer = Layer.mergeAll(
    Layer.succeed(StockStore, StockStore.make({ loadStock, lookup, commit, loadLocations } as never)),
    Layer.succeed(
      Outbox,
      Outbox.make({ relayOnce: () => Effect.succeed(0), ring: () => {}, waitForBell: Effect.never } as never),
    ),
  )
  return { tables, layer, violations, waiting } as const
}
