import { Effect, Layer } from "effect"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import type { StockLevel } from "../../src/Domain/Stock.js"
import { CommitConflict } from "../../src/Store/Errors.js"
import { Outbox } from "../../src/Store/Outbox.js"
import {
  type CommitBatch,
  type KnownOrder,
  type LedgerRow,
  type OrderStatus,
  type StockRow,
  StockStore,
} from "../../src/Store/StockStore.js"

// The engine's store in memory (as `Accounts.Test` in Effect's examples): the same contract as the
// one-statement commit in PostgreSQL (a batch lands whole or not at all; a stock row whose version
// moved, an order already recorded or one no longer in the status it was decided against refuses
// it), so the saga, actor and committer properties run in milliseconds without infrastructure.

interface Line {
  quantity: number
  fulfilled: number
  released: number
}

export interface MemoryTables {
  readonly stock: Map<ProductId, StockRow>
  readonly orders: Map<OrderId, { status: OrderStatus; reservationId: string | null; expiresAt: number | null }>
  readonly lines: Map<OrderId, Map<ProductId, Line>>
  readonly ledger: Array<LedgerRow>
  readonly fulfillments: Set<string>
  readonly events: Array<{ readonly eventType: string; readonly key: string; readonly payload: string }>
}

const level = (r: StockLevel) => ({ available: r.available, reserved: r.reserved, onHand: r.onHand })

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
      .map(([productId, l]) => ({ productId, quantity: l.quantity - l.fulfilled - l.released }))
      .filter((l) => l.quantity > 0)

  const commit = (batch: CommitBatch) =>
    Effect.suspend(() => {
      const conflict = (reason: string) => Effect.fail(new CommitConflict({ reason, productIds: [] }))
      // check everything first: the batch lands whole or not at all
      for (const p of batch.products) {
        const row = tables.stock.get(p.productId)
        if (p.create !== undefined ? row !== undefined : (row?.version ?? 0) !== p.expectedVersion)
          return conflict("stock version changed")
      }
      const inserted = new Set<OrderId>()
      for (const o of batch.orderInserts) {
        if (tables.orders.has(o.orderId) || inserted.has(o.orderId)) return conflict("order already decided elsewhere")
        inserted.add(o.orderId)
      }
      const statuses = new Map<OrderId, OrderStatus>(batch.orderInserts.map((o) => [o.orderId, o.status]))
      // what each order holds as the batch goes: a move stands only on what memory believed it held
      const holding = new Map<OrderId, Map<ProductId, number>>(
        batch.orderInserts.map((o) => [o.orderId, new Map(o.lines.map((l) => [l.productId, l.quantity]))]),
      )
      const same = (
        a: Map<ProductId, number>,
        b: ReadonlyArray<{ readonly productId: ProductId; readonly quantity: number }>,
      ) => {
        const bs = b.filter((l) => l.quantity > 0)
        return (
          bs.length === [...a.values()].filter((q) => q > 0).length &&
          bs.every((l) => a.get(l.productId) === l.quantity)
        )
      }
      for (const u of batch.orderUpdates) {
        const status = statuses.get(u.orderId) ?? tables.orders.get(u.orderId)?.status
        if (status !== u.from) return conflict("reservation already moved on elsewhere")
        const now = holding.get(u.orderId) ?? new Map(held(u.orderId).map((l) => [l.productId, l.quantity]))
        if (!same(now, u.held)) return conflict("reservation already moved on elsewhere")
        for (const l of u.lines) now.set(l.productId, (now.get(l.productId) ?? 0) - l.fulfilled - l.released)
        holding.set(u.orderId, now)
        statuses.set(u.orderId, u.to)
      }
      for (const f of batch.fulfillments)
        if (tables.fulfillments.has(`${f.orderId}/${f.fulfillmentId}`)) return conflict("fulfilment already decided")
      for (const p of batch.products) {
        const before = tables.stock.get(p.productId)
        const next = {
          available: (before?.available ?? 0) + p.delta.available,
          reserved: (before?.reserved ?? 0) + p.delta.reserved,
          onHand: (before?.onHand ?? 0) + p.delta.onHand,
        }
        // the CHECK constraints of the stock table
        if (next.available < 0 || next.reserved < 0 || next.onHand !== next.available + next.reserved)
          return Effect.die(new Error(`stock row of ${p.productId} would break its constraints`))
      }
      // then write
      const versions = new Map<ProductId, number>()
      for (const p of batch.products) {
        const before = tables.stock.get(p.productId)
        const row: StockRow = {
          productId: p.productId,
          available: (before?.available ?? 0) + p.delta.available,
          reserved: (before?.reserved ?? 0) + p.delta.reserved,
          onHand: (before?.onHand ?? 0) + p.delta.onHand,
          threshold: p.threshold ?? p.create?.threshold ?? before?.threshold ?? 0,
          location: p.location !== undefined ? p.location : (p.create?.location ?? before?.location ?? null),
          safetyStock: p.safetyStock ?? p.create?.safetyStock ?? before?.safetyStock ?? 0,
          version: (before?.version ?? 0) + 1,
        }
        tables.stock.set(p.productId, row)
        versions.set(p.productId, row.version)
      }
      for (const o of batch.orderInserts) {
        tables.orders.set(o.orderId, { status: o.status, reservationId: o.reservationId, expiresAt: o.expiresAt })
        tables.lines.set(
          o.orderId,
          new Map(o.lines.map((l) => [l.productId, { quantity: l.quantity, fulfilled: 0, released: 0 }])),
        )
      }
      for (const u of batch.orderUpdates) {
        const order = tables.orders.get(u.orderId)!
        order.status = u.to
        if (u.expiresAt !== undefined) order.expiresAt = u.expiresAt.next
        for (const l of u.lines) {
          const line = tables.lines.get(u.orderId)?.get(l.productId)
          if (line === undefined) continue
          line.fulfilled += l.fulfilled
          line.released += l.released
        }
      }
      for (const f of batch.fulfillments) tables.fulfillments.add(`${f.orderId}/${f.fulfillmentId}`)
      tables.ledger.push(...batch.ledger)
      tables.events.push(...batch.outbox.map((e) => ({ eventType: e.eventType, key: e.key, payload: e.payload })))
      return Effect.succeed(versions)
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
        const active = order.status === "reserved" || order.status === "partially_fulfilled"
        known.set(id, {
          status: order.status,
          reservationId: order.reservationId,
          lines: active ? held(id) : [],
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
      if (order.status !== "reserved" && order.status !== "partially_fulfilled") continue
      for (const l of held(id)) holding.set(l.productId, (holding.get(l.productId) ?? 0) + l.quantity)
    }
    const replay = new Map<ProductId, StockLevel>()
    for (const r of tables.ledger) {
      const before = replay.get(r.productId) ?? { available: 0, reserved: 0, onHand: 0 }
      if (before.available !== r.before.available || before.reserved !== r.before.reserved)
        problems.push(
          `${r.productId}: ledger row ${r.movement} ${r.quantity} does not start where the one before ended`,
        )
      replay.set(r.productId, level(r.after))
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
