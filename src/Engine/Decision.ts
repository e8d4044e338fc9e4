import type { ProductId } from "../Domain/Ids.js"
import * as Stock from "../Domain/Stock.js"
import type { OutboxEvent } from "../Store/Outbox.js"
import type { FulfillmentRow, IdempotencyRow, LedgerRow, OrderInsert, OrderUpdate } from "../Store/StockStore.js"
import type { Move, ProductCell } from "./ProductActor.js"

/** One hold an actor gave out: a change to commit, or (zero delta) a version to re-check. */
export interface CellWrite {
  readonly cell: ProductCell
  readonly delta: Stock.StockLevel
  readonly create?: boolean
  readonly threshold?: number
  readonly location?: string | null
  readonly safetyStock?: number
  /** a refusal's version check: no change was given out for it */
  readonly check?: true
}

/** A ledger row with the move behind it: rows are written in the order their moves were applied. */
export interface LedgerEntry extends LedgerRow {
  readonly move: Move
}

/** Everything one order, cancellation or adjustment changes, committed all together or not at all. */
export interface Decision {
  readonly writes: ReadonlyArray<CellWrite>
  readonly ledger: ReadonlyArray<LedgerEntry>
  readonly orderInserts: ReadonlyArray<OrderInsert>
  readonly orderUpdates: ReadonlyArray<OrderUpdate>
  readonly fulfillments: ReadonlyArray<FulfillmentRow>
  readonly events: ReadonlyArray<OutboxEvent>
  readonly idempotency: ReadonlyArray<IdempotencyRow>
}

const emptyDecision: Decision = {
  writes: [],
  ledger: [],
  orderInserts: [],
  orderUpdates: [],
  fulfillments: [],
  events: [],
  idempotency: [],
}

export const decision = (parts: Partial<Decision>): Decision => ({ ...emptyDecision, ...parts })

export const writeOf = (move: Move): CellWrite => ({
  cell: move.cell,
  delta: Stock.difference(move.before, move.after),
})

export const checkOf = (cell: ProductCell): CellWrite => ({ cell, delta: Stock.emptyStock, check: true })

export const ledgerOf = (
  move: Move,
  movement: LedgerRow["movement"],
  quantity: number,
  extra: { adjustmentType?: string; reason?: string | null; referenceId?: string | null } = {},
): LedgerEntry => ({
  move,
  productId: move.cell.productId as ProductId,
  movement,
  adjustmentType: extra.adjustmentType ?? null,
  quantity,
  before: move.before,
  after: move.after,
  reason: extra.reason ?? null,
  referenceId: extra.referenceId ?? null,
})

/**
 * A batch's ledger rows as the stock rows will go through them: each product's rows in the order
 * their moves were applied, every `before` the `after` of the row before it, the first one starting
 * from what the row holds once the commits before have landed. A move's own before/after is what
 * memory held when it was applied, which can include holds of sagas still in flight or later undone
 * (those write no ledger row), and sagas complete out of order: the ledger would not replay. Also
 * returns each product's level once this batch has landed.
 */
export const ledgerInCommitOrder = (
  entries: ReadonlyArray<LedgerEntry>,
): { readonly rows: Array<LedgerRow>; readonly levels: Map<ProductCell, Stock.StockLevel> } => {
  const levels = new Map<ProductCell, Stock.StockLevel>()
  const rows = [...entries]
    .sort((a, b) => a.move.seq - b.move.seq)
    .map(({ move, ...row }) => {
      const cell = move.cell
      const before = levels.get(cell) ?? cell.committed
      const delta = Stock.difference(row.before, row.after)
      const after = {
        available: before.available + delta.available,
        reserved: before.reserved + delta.reserved,
        onHand: before.onHand + delta.onHand,
      }
      levels.set(cell, after)
      return { ...row, before, after }
    })
  return { rows, levels }
}
