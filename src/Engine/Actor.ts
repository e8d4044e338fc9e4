import type { ProductId } from "../Domain/Ids.js"
import type { StockRow } from "../Store/StockStore.js"
import type { Command } from "./ActorCommands.js"
import { cellFromRow, type ProductCell } from "./ProductCell.js"

/**
 * A product's actor: its stock at every location it is kept (a cell each), a bounded mailbox, and
 * (while there is mail) a fiber that applies the commands one at a time in arrival order. Commands
 * that find the mailbox full wait in `overflow`, in order, and their senders stay suspended:
 * backpressure, nothing dropped.
 */
export interface Actor {
  readonly productId: ProductId
  readonly cells: Map<string, ProductCell>
  mailbox: Array<Command>
  readonly overflow: Array<Command>
  draining: boolean
  lastUsed: number
}

/** An actor for a product, with a cell for each of its rows as loaded. */
export const makeActor = (productId: ProductId, rows: ReadonlyArray<StockRow>): Actor => {
  const actor: Actor = { productId, cells: new Map(), mailbox: [], overflow: [], draining: false, lastUsed: Date.now() }
  for (const row of rows) actor.cells.set(row.locationId, cellFromRow(actor, row.locationId, row))
  return actor
}

/** The product's cell at a location (an empty one, not in PostgreSQL, if it is not kept there). */
export const cellAt = (actor: Actor, locationId: string): ProductCell => {
  let cell = actor.cells.get(locationId)
  if (cell === undefined) {
    cell = cellFromRow(actor, locationId, undefined)
    actor.cells.set(locationId, cell)
  }
  return cell
}

/** Queues a command; true when the actor has no fiber running and one must be started. */
export const post = (actor: Actor, command: Command, capacity: number): boolean => {
  if (actor.mailbox.length < capacity && actor.overflow.length === 0) actor.mailbox.push(command)
  else actor.overflow.push(command)
  if (actor.draining) return false
  actor.draining = true
  return true
}

/** No mail waiting and no fiber applying it: a command may be applied at once, keeping arrival order. */
export const isFree = (actor: Actor): boolean =>
  !actor.draining && actor.mailbox.length === 0 && actor.overflow.length === 0

export const isIdle = (actor: Actor): boolean => {
  if (!isFree(actor)) return false
  for (const cell of actor.cells.values()) if (cell.holds > 0) return false
  return true
}

export const depth = (actor: Actor): number => actor.mailbox.length + actor.overflow.length
