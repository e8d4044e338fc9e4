import type { Effect } from "effect"
import type * as Stock from "../Domain/Stock.js"
import type {
  BackorderLimitBelowPromised,
  InconsistentMemory,
  LineShort,
  NotEnoughToRemove,
  StaleGeneration,
  StockMoved,
  UnknownProduct,
} from "./Errors.js"
import type { Hold } from "./ProductActor.js"

// What a product's actor is asked (its commands) and what it answers: types only (ProductActor.ts applies them).

/** A stock change applied in memory, to be committed with the decision that caused it. */
export interface Move {
  readonly hold: Hold
  readonly before: Stock.StockLevel
  readonly after: Stock.StockLevel
  /** the product was not kept at the cell's location before this change */
  readonly created?: boolean
  /** units promised by this change (negative: promises dropped or filled); none when absent */
  readonly promised?: number
}

export interface Definition {
  readonly initialQuantity: number
  readonly threshold?: number | undefined
  readonly location?: string | null | undefined
  readonly safetyStock?: number | undefined
  readonly backorderLimit?: number | undefined
}

/** How an actor answers: the resume callback of the asking fiber. */
export type Reply<A, E> = (result: Effect.Effect<A, E>) => void

export type Command =
  | {
      readonly _tag: "Reserve"
      /**
       * the order's lines of this product (pinned ones first), each with where it may be served from,
       * in the order to take from (one location: pinned there); all of them or none
       */
      readonly lines: ReadonlyArray<{ readonly quantity: number; readonly locations: ReadonlyArray<string> }>
      /** one move per line and location taken from, in that order */
      readonly reply: Reply<ReadonlyArray<Move>, LineShort | StaleGeneration>
    }
  | {
      readonly _tag: "Release"
      readonly location: string
      /** reserved units given back */
      readonly quantity: number
      /** promised units dropped */
      readonly drops?: number | undefined
      /** a saga giving back its own reservation, never handed to the committer: settles that hold */
      readonly givesBack?: Hold | undefined
      readonly reply: Reply<Move, InconsistentMemory | StaleGeneration>
    }
  | {
      /** promised units there become reserved, as many as can be (none: no move) */
      readonly _tag: "Fill"
      readonly location: string
      /** the units an order's line promises there */
      readonly quantity: number
      readonly reply: Reply<Move | undefined, StaleGeneration>
    }
  | {
      readonly _tag: "Fulfil"
      readonly location: string
      readonly quantity: number
      readonly reply: Reply<Move, InconsistentMemory | StaleGeneration>
    }
  | {
      readonly _tag: "Adjust"
      readonly location: string
      /** units added (negative: removed), or a count: on hand becomes the counted figure */
      readonly change: number | { readonly countedOnHand: number }
      /** compare-and-set: refused (StockMoved) unless on hand is this figure */
      readonly expectedOnHand?: number | undefined
      /** units arriving where the product is not kept yet start its stock there (else UnknownProduct) */
      readonly createIfMissing?: boolean | undefined
      /** undoes an adjustment of the same request that was never handed to the committer: settles its hold */
      readonly givesBack?: Hold | undefined
      readonly reply: Reply<Move, NotEnoughToRemove | StockMoved | UnknownProduct | StaleGeneration>
    }
  | {
      readonly _tag: "Define"
      readonly location: string
      readonly definition: Definition
      readonly reply: Reply<
        { readonly move: Move; readonly created: boolean },
        BackorderLimitBelowPromised | StaleGeneration
      >
    }
