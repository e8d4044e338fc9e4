import { Effect, Layer } from "effect"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import { isHeld, type KnownOrder, type OrderStatus } from "../../src/Domain/Lifecycle.js"
import type { StockLevel } from "../../src/Domain/Stock.js"
import type { CommitBatch, CommittedRow, OrderStep, StockChange } from "../../src/Store/CommitBatch.js"
import { CommitConflict } from "../../src/Store/Errors.js"
import { Outbox } from "../../src/Store/Outbox.js"
import { type StockRow, StockStore } from "../../src/Store/StockStore.js"

// The engine's store in memory (as `Accounts.Test` in Effect's examples), with the contract of the
// one-statement commit: it derives every row from the intents and judges them against the rows as
// committed, in decision order; a batch lands whole or not at all. The saga, actor and committer
// properties run against it in milliseconds without infrastructure.

interface Line {
  quantity: number
  fulfilled: number
  released: number
}

interface LedgerRow {
  readonly productId: ProductId
  readonly movement: string
  readonly quantity: number
  readonly before: StockLevel
  readonly after: StockLevel
}

export interface MemoryTables {
  readonly stock: Map<ProductId, StockRow>
  readonly orders: Map<OrderId, { status: OrderStatus; reservationId: string | null; expiresAt: number | null }>
  readonly lines: Map<OrderId, Map<ProductId, Line>>
  readonly ledger: Array<LedgerRow>
  readonly fulfillments: Set<string>
  readonly events: Array<{ readonly eventType: string; readonly key: string; readonly payload: string }>
}

const heldOf = (l: Line) => l.quantity - l.fulfilled - l.released

class Refused {
  constructor(readonly reason: string) {}
}

export const makeMemoryStore = () => {
  const tables: MemoryTables = {
    stock: new Map(),
    orders: new Map(),
    lines: new Map(),
    ledger: [],
    fulfillments: new Set(),
    events: [],
  }
  const held = (orderId: OrderId) =>
    [...(tables.lines.get(orderId) ?? new Map<ProductId, Line>())]
      .map(([productId, l]) => ({ productId, quantity: heldOf(l) }))
      .filter((l) => l.quantity > 0)
      .sort((a, b) => (a.productId < b.productId ? -1 : 1))

  /** Applies the batch to copies of the tables; throws Refused where the statement would abort. */
  const apply = (batch: CommitBatch) => {
    const stock = new Map(tables.stock)
    const orders = new Map([...tables.orders].map(([id, o]) => [id, { ...o }]))
    const lines = new Map([...tables.lines].map(([id, ls]) => [id, new Map([...ls].map(([p, l]) => [p, { ...l }]))]))
    const fulfillments = new Set(tables.fulfillments)
    const ledger: Array<LedgerRow> = []
    const events: MemoryTables["events"] = []
    const refuse = (reason: string): never => {
      throw new Refused(reason)
    }
    const named = new Set(batch.products.map((p) => p.productId))
    const versions = new Map<ProductId, number>()
    for (const p of batch.products) {
      const row = stock.get(p.productId)
      if (p.create || !p.exists) {
        if (row !== undefined) refuse("product created elsewhere")
        if (p.create) {
          stock.set(p.productId, {
            productId: p.productId,
            ...{ available: 0, reserved: 0, onHand: 0 },
            threshold: p.threshold ?? 0,
            location: p.location ?? null,
            safetyStock: p.safetyStock ?? 0,
            version: 1,
          })
          versions.set(p.productId, 1)
        }
      } else {
        // judged on the row as it is, whatever version memory saw
        if (row === undefined) refuse("stock row missing")
        stock.set(p.productId, {
          ...row!,
          threshold: p.threshold ?? row!.threshold,
          location: p.location !== undefined ? p.location : row!.location,
          safetyStock: p.safetyStock ?? row!.safetyStock,
          version: row!.version + 1,
        })
        versions.set(p.productId, row!.version + 1)
      }
    }
    const levelOf = (productId: ProductId) =>
      stock.get(productId) ?? { available: 0, reserved: 0, onHand: 0, safetyStock: 0 }
    const move = (productId: ProductId, movement: string, quantity: number, delta: StockLevel) => {
      if (!named.has(productId)) refuse("product not named")
      const row = stock.get(productId)!
      const after = {
        available: row.available + delta.available,
        reserved: row.reserved + delta.reserved,
        onHand: row.onHand + delta.onHand,
      }
      if (after.available < 0 || after.reserved < 0) refuse("not available")
      if (row.available >= row.threshold && after.available < row.threshold) {
        events.push({ eventType: "inventory.low_stock", key: productId, payload: JSON.stringify(after) })
      }
      ledger.push({ productId, movement, quantity, before: row, after })
      stock.set(productId, { ...row, ...after })
    }
    const orderLines = (o: OrderId) => lines.get(o) ?? new Map<ProductId, Line>()
    const step = (s: OrderStep) => {
      const order = orders.get(s.orderId)
      switch (s._tag) {
        case "Reserve":
        case "Refuse":
        case "CancelFirst": {
          if (order !== undefined) refuse("order already decided elsewhere")
          if (s._tag === "Refuse") {
            if (!named.has(s.productId)) refuse("refused product not named")
            const level = levelOf(s.productId)
            const sellable = Math.max(0, level.available - level.safetyStock)
            if (sellable >= s.requested) refuse("refusal no longer stands")
            events.push({
              eventType: "inventory.out_of_stock",
              key: s.orderId,
              payload: JSON.stringify({ available_qty: sellable }),
            })
          }
          for (const l of s._tag === "Reserve" ? s.lines : []) {
            const level = levelOf(l.productId)
            if (level.available - l.quantity < level.safetyStock) refuse("not sellable")
            move(l.productId, "reserve", l.quantity, { available: -l.quantity, reserved: l.quantity, onHand: 0 })
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
              new Map(s.lines.map((l) => [l.productId, { quantity: l.quantity, fulfilled: 0, released: 0 }])),
            )
          }
          return
        }
        case "RejectFulfilment": {
          const all = [...orderLines(s.orderId).entries()]
          const total = all.reduce((n, [, l]) => n + heldOf(l), 0)
          const line =
            s.productId === undefined
              ? 0
              : heldOf(orderLines(s.orderId).get(s.productId) ?? { quantity: 0, fulfilled: 0, released: 0 })
          const stands =
            s.reason === "not_reserved"
              ? total === 0
              : s.reason === "unknown_line"
                ? total > 0 && line === 0
                : line > 0 && line === s.held && s.held < (s.requested ?? 0)
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
          if (s._tag === "Release" && s.reason === "expired") {
            if (order!.status !== "reserved" || order!.expiresAt === null || order!.expiresAt > Date.now())
              refuse("order not held as decided")
          }
          const ls = orderLines(s.orderId)
          const taking =
            s._tag === "Ship" && s.items !== undefined
              ? s.items
              : [...ls].filter(([, l]) => heldOf(l) > 0).map(([productId, l]) => ({ productId, quantity: heldOf(l) }))
          for (const t of taking) {
            const line = ls.get(t.productId)
            if (line === undefined || heldOf(line) < t.quantity) refuse("line holds less than shipped")
            if (s._tag === "Ship") {
              line!.fulfilled += t.quantity
              move(t.productId, "fulfil", t.quantity, { available: 0, reserved: -t.quantity, onHand: -t.quantity })
            } else {
              line!.released += t.quantity
              move(t.productId, "release", t.quantity, { available: t.quantity, reserved: -t.quantity, onHand: 0 })
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
    const change = (c: StockChange) => {
      const row = stock.get(c.productId)
      if (c._tag === "Correct") {
        let held = 0
        for (const [o, ls] of lines)
          if (isHeld(orders.get(o)?.status ?? "unseen"))
            held += heldOf(ls.get(c.productId) ?? { quantity: 0, fulfilled: 0, released: 0 })
        const onHand = Math.max(row?.onHand ?? 0, held)
        const after = { available: onHand - held, reserved: held, onHand }
        move(c.productId, "adjust", onHand - (row?.onHand ?? 0), {
          available: after.available - (row?.available ?? 0),
          reserved: after.reserved - (row?.reserved ?? 0),
          onHand: after.onHand - (row?.onHand ?? 0),
        })
        return
      }
      if (c._tag === "Adjust") {
        if (c.expectedOnHand !== undefined && row?.onHand !== c.expectedOnHand) refuse("on hand moved")
        if (c.countedOnHand !== undefined && (row?.onHand ?? 0) + c.quantity !== c.countedOnHand)
          refuse("on hand moved")
      }
      move(c.productId, c._tag === "Initial" ? "initial" : "adjust", c.quantity, {
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
    // the balance triggers: reserved is what held lines hold, for every product the batch touched
    for (const id of versions.keys()) {
      let holding = 0
      for (const [o, ls] of lines)
        if (isHeld(orders.get(o)?.status ?? "unseen"))
          holding += heldOf(ls.get(id) ?? { quantity: 0, fulfilled: 0, released: 0 })
      if (stock.get(id)?.reserved !== holding) refuse("books out of balance")
    }
    return { stock, orders, lines, fulfillments, ledger, events, versions }
  }

  const commit = (batch: CommitBatch) =>
    Effect.suspend(() => {
      try {
        const next = apply(batch)
        for (const [k, v] of next.stock) tables.stock.set(k, v)
        for (const [k, v] of next.orders) tables.orders.set(k, v)
        for (const [k, v] of next.lines) tables.lines.set(k, v)
        for (const k of next.fulfillments) tables.fulfillments.add(k)
        tables.ledger.push(...next.ledger)
        tables.events.push(...next.events)
        const rows = new Map<ProductId, CommittedRow>()
        for (const [id, version] of next.versions) {
          const { available, reserved, onHand } = next.stock.get(id)!
          rows.set(id, { version, available, reserved, onHand })
        }
        return Effect.succeed(rows)
      } catch (e) {
        if (e instanceof Refused) return Effect.fail(new CommitConflict({ reason: e.reason, productIds: [] }))
        throw e
      }
    })

  const loadStock = (ids: ReadonlyArray<ProductId>) =>
    Effect.sync(() => ids.flatMap((id) => (tables.stock.has(id) ? [{ ...tables.stock.get(id)! }] : [])))

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
      return { known, stock: productIds.flatMap((id) => (tables.stock.has(id) ? [{ ...tables.stock.get(id)! }] : [])) }
    })

  /** The invariants of design.md over the tables: rows balance, reserved is what active orders hold, the ledger replays. */
  const violations = () => {
    const problems: Array<string> = []
    const holding = new Map<ProductId, number>()
    for (const [id, order] of tables.orders) {
      if (!isHeld(order.status)) continue
      for (const l of held(id)) holding.set(l.productId, (holding.get(l.productId) ?? 0) + l.quantity)
    }
    const replay = new Map<ProductId, StockLevel>()
    for (const r of tables.ledger) {
      const before = replay.get(r.productId) ?? { available: 0, reserved: 0, onHand: 0 }
      if (before.available !== r.before.available || before.reserved !== r.before.reserved)
        problems.push(
          `${r.productId}: ledger row ${r.movement} ${r.quantity} does not start where the one before ended`,
        )
      replay.set(r.productId, r.after)
    }
    for (const [id, row] of tables.stock) {
      if (row.available < 0 || row.reserved < 0 || row.onHand !== row.available + row.reserved)
        problems.push(`${id}: row does not balance`)
      if (row.reserved !== (holding.get(id) ?? 0))
        problems.push(`${id}: reserved ${row.reserved}, held ${holding.get(id) ?? 0}`)
      const end = replay.get(id)
      if (end === undefined || end.available !== row.available || end.reserved !== row.reserved)
        problems.push(`${id}: the ledger does not replay to the row`)
    }
    return problems
  }

  const layer = Layer.mergeAll(
    Layer.succeed(StockStore, StockStore.make({ loadStock, lookup, commit } as never)),
    Layer.succeed(
      Outbox,
      Outbox.make({ relayOnce: () => Effect.succeed(0), ring: () => {}, waitForBell: Effect.never } as never),
    ),
  )
  return { tables, layer, violations } as const
}
