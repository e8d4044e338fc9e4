import type { RejectionReason } from "../Domain/Fulfilment.js"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import type { HeldLine } from "../Domain/Lifecycle.js"
import type { StockLevel } from "../Domain/Stock.js"
import type { OutboxEvent } from "./Outbox.js"

/**
 * What a decision means, as the commit statement takes it. The statement derives every row from
 * these intents and checks them against the rows as committed (see CommitStatement.ts): memory only
 * predicts, so a stale or misordered memory can cause a conflict, never a wrong row.
 */
export type OrderStep =
  /** reserve these lines (each stands only if the product can still sell it at that point) */
  | {
      readonly _tag: "Reserve"
      readonly orderId: OrderId
      readonly reservationId: string
      readonly lines: ReadonlyArray<HeldLine>
      readonly expiresAt: number | null
    }
  /** refuse the order: stands only if the product's sellable units over `locations` sum below `requested` */
  | {
      readonly _tag: "Refuse"
      readonly orderId: OrderId
      readonly productId: ProductId
      readonly locations: ReadonlyArray<string>
      readonly requested: number
    }
  /** the cancellation came first: the order is never reserved */
  | { readonly _tag: "CancelFirst"; readonly orderId: OrderId }
  /** release all the order still holds (cancelled, or expired: then only if still reserved and due) */
  | { readonly _tag: "Release"; readonly orderId: OrderId; readonly reason: "cancelled" | "expired" }
  /** ship these items (or, with none, all that is held); `to` is the status memory predicts */
  | {
      readonly _tag: "Ship"
      readonly orderId: OrderId
      readonly fulfillmentId: string
      readonly items: ReadonlyArray<HeldLine> | undefined
      readonly to: "fulfilled" | "partially_fulfilled"
      readonly at: string
    }
  /** a fulfilment refused: stands only if the order's lines say what the refusal claims */
  | {
      readonly _tag: "RejectFulfilment"
      readonly orderId: OrderId
      readonly fulfillmentId: string
      readonly reason: RejectionReason
      readonly productId?: ProductId | undefined
      readonly locationId?: string | undefined
      readonly requested?: number | undefined
      readonly held?: number | undefined
    }
  /**
   * promised units of the order's lines become reserved ones (stands only if the lines promise that
   * many, the product can sell them there, and no older order's promise there is left unfilled);
   * `expiresAt`: its due time once nothing is promised any more
   */
  | {
      readonly _tag: "Fill"
      readonly orderId: OrderId
      readonly lines: ReadonlyArray<HeldLine>
      readonly expiresAt: number | null
    }
  /** move the due time of a held reservation */
  | { readonly _tag: "Extend"; readonly orderId: OrderId; readonly expiresAt: number }

/** A change to a product's stock that no order makes. */
export type StockChange =
  | {
      readonly _tag: "Adjust"
      readonly productId: ProductId
      readonly locationId: string
      /** units added (negative: removed) */
      readonly quantity: number
      /** a count: stands only if on hand becomes this figure */
      readonly countedOnHand?: number | undefined
      /** compare-and-set: stands only if on hand is this figure before it */
      readonly expectedOnHand?: number | undefined
      readonly adjustmentType: string
      readonly reason: string | null
      readonly referenceId: string | null
    }
  /**
   * units sent to another location: off the source's available and on hand, recorded as a transfer
   * in transit (stands only if the source has them available)
   */
  | {
      readonly _tag: "TransferOut"
      readonly productId: ProductId
      /** the source */
      readonly locationId: string
      readonly toLocationId: string
      readonly transferId: string
      readonly quantity: number
      readonly referenceId: string | null
    }
  /** units of a transfer received at its destination (stands only if that many are still in transit) */
  | {
      readonly _tag: "TransferIn"
      readonly productId: ProductId
      /** the destination */
      readonly locationId: string
      readonly transferId: string
      readonly quantity: number
    }
  /** a new product's first stock */
  | { readonly _tag: "Initial"; readonly productId: ProductId; readonly locationId: string; readonly quantity: number }
  /**
   * a reconciliation repair: `reserved` becomes what the product's held lines hold, on hand is kept
   * (never below what is held); the statement derives the figures (committed in a batch of its own)
   */
  | { readonly _tag: "Correct"; readonly productId: ProductId; readonly locationId: string; readonly reason: string }

/**
 * A product the batch acts on. Its row is judged as it is at commit, whatever memory saw of it:
 * `exists` says only whether memory knows the row (a product created here must not exist yet).
 */
export interface ProductWrite {
  readonly productId: ProductId
  readonly locationId: string
  readonly exists: boolean
  readonly create: boolean
  readonly threshold?: number | undefined
  readonly location?: string | null | undefined
  readonly safetyStock?: number | undefined
  readonly backorderLimit?: number | undefined
}

/** A stock row as the commit left it (memory adopts it). */
export interface CommittedRow extends StockLevel {
  readonly version: number
  readonly backordered: number
}

export interface IdempotencyRow {
  readonly key: string
  readonly requestHash: string
  readonly status: number
  readonly body: string
}

/** One decision's intents: at most one step of one order, stock changes, and the events memory builds. */
export interface DecisionIntents {
  readonly step?: OrderStep | undefined
  readonly changes: ReadonlyArray<StockChange>
  readonly events: ReadonlyArray<OutboxEvent>
  readonly idempotency: ReadonlyArray<IdempotencyRow>
}

/** The partition epoch a decision was taken under: the commit is refused if it moved on. */
export interface Fence {
  readonly group: string
  readonly partition: number
  readonly epoch: number
}

/** Decisions in the order they were taken; one order appears at most once in a batch. */
export interface CommitBatch {
  readonly products: ReadonlyArray<ProductWrite>
  readonly decisions: ReadonlyArray<DecisionIntents>
  readonly fences: ReadonlyArray<Fence>
}
