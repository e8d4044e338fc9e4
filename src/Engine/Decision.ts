import type { OutboxEvent } from "../Domain/Events.js"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import * as Stock from "../Domain/Stock.js"
import type { IdempotencyRow, LedgerRow, OrderInsert } from "../Store/StockStore.js"
import type { Move, ProductCell } from "./ProductActor.js"

/** One hold an actor gave out: a change to commit, or (zero delta) a version to re-check. */
export interface CellWrite {
  readonly cell: ProductCell
  readonly delta: Stock.StockLevel
  readonly create?: boolean
  readonly threshold?: number
  readonly location?: string | null
}

/** Everything one order, cancellation or adjustment changes, committed all together or not at all. */
export interface Decision {
  readonly writes: ReadonlyArray<CellWrite>
  readonly ledger: ReadonlyArray<LedgerRow>
  readonly orderInserts: ReadonlyArray<OrderInsert>
  readonly orderReleases: ReadonlyArray<OrderId>
  readonly events: ReadonlyArray<OutboxEvent>
  readonly idempotency: ReadonlyArray<IdempotencyRow>
}

export const emptyDecision: Decision = {
  writes: [],
  ledger: [],
  orderInserts: [],
  orderReleases: [],
  events: [],
  idempotency: [],
}

export const decision = (parts: Partial<Decision>): Decision => ({ ...emptyDecision, ...parts })

export const writeOf = (move: Move): CellWrite => ({
  cell: move.cell,
  delta: Stock.difference(move.before, move.after),
})

export const checkOf = (cell: ProductCell): CellWrite => ({ cell, delta: Stock.emptyStock })

export const ledgerOf = (
  move: Move,
  movement: LedgerRow["movement"],
  quantity: number,
  extra: { adjustmentType?: string; reason?: string | null; referenceId?: string | null } = {},
): LedgerRow => ({
  productId: move.cell.productId as ProductId,
  movement,
  adjustmentType: extra.adjustmentType ?? null,
  quantity,
  before: move.before,
  after: move.after,
  reason: extra.reason ?? null,
  referenceId: extra.referenceId ?? null,
})
