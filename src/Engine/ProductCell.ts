import type { ProductId } from "../Domain/Ids.js"
import * as Stock from "../Domain/Stock.js"
import type { CommittedRow } from "../Store/CommitBatch.js"
import type { StockRow } from "../Store/StockStore.js"
import type { Actor } from "./Actor.js"
import type { Command } from "./ActorCommands.js"

/**
 * What one actor knows about its product at one location: a prediction of the row. Only the actor
 * changes it (ProductActor.ts): its commands, and `adopt` once a commit has landed. The level is
 * always the row as last committed plus `inFlight`, and `backordered` likewise.
 */
export interface ProductCell {
  readonly actor: Actor
  readonly productId: ProductId
  readonly locationId: string
  exists: boolean
  level: Stock.StockLevel
  threshold: number
  location: string | null
  /** never reserved by orders */
  safetyStock: number
  /** units promised to orders here, not reserved (they take arriving stock first) */
  backordered: number
  /** the most that may be promised here */
  backorderLimit: number
  /** the row's version as last read or committed (0: not in PostgreSQL yet) */
  version: number
  /** the changes applied and not yet committed or given back, summed */
  inFlight: Stock.StockLevel
  /** the promises made (or dropped, or filled) and not yet committed or given back, summed */
  backorderedInFlight: number
  /** holds given out and not yet settled: the actor is not passivated while there are any */
  holds: number
  /**
   * changes applied and neither handed to the committer nor given back: while there are any, the
   * level may include one about to be undone, so a short reservation waits (parked) rather than
   * being refused on it (the commit would find the refusal does not stand)
   */
  unsettled: number
  parked: Array<Command>
}

export const cellFromRow = (actor: Actor, locationId: string, row: StockRow | undefined): ProductCell => ({
  actor,
  productId: actor.productId,
  locationId,
  exists: row !== undefined,
  level: row ? { available: row.available, reserved: row.reserved, onHand: row.onHand } : Stock.emptyStock,
  threshold: row?.threshold ?? 0,
  location: row?.location ?? null,
  safetyStock: row?.safetyStock ?? 0,
  backordered: row?.backordered ?? 0,
  backorderLimit: row?.backorderLimit ?? 0,
  version: row?.version ?? 0,
  inFlight: Stock.emptyStock,
  backorderedInFlight: 0,
  holds: 0,
  unsettled: 0,
  parked: [],
})

/**
 * A commit that wrote the product landed, its holds taken off `inFlight` (`land`): memory adopts the
 * row as committed (another writer's changes included) plus what is still in flight.
 */
export const adopt = (cell: ProductCell, row: CommittedRow): void => {
  cell.version = row.version
  cell.level = Stock.plus(row, cell.inFlight)
  cell.backordered = row.backordered + cell.backorderedInFlight
}

/** Units new orders may take at a cell: available beyond safety stock and beyond what is owed to backorders. */
export const sellable = (cell: ProductCell): number =>
  cell.exists ? Math.max(0, cell.level.available - cell.safetyStock - cell.backordered) : 0

/** Units that may fill promises at a cell: available beyond safety stock. */
export const fillable = (cell: ProductCell): number =>
  cell.exists ? Math.max(0, cell.level.available - cell.safetyStock) : 0

/** Units that may still be promised at a cell. */
export const backorderRoom = (cell: ProductCell): number =>
  cell.exists ? Math.max(0, cell.backorderLimit - cell.backordered) : 0
