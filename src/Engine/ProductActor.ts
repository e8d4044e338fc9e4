import { Effect, Either } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import * as Stock from "../Domain/Stock.js"
import type { StockRow } from "../Store/StockStore.js"
import {
  InconsistentMemory,
  LineShort,
  NotEnoughToRemove,
  StaleGeneration,
  StockMoved,
  UnknownProduct,
} from "./Errors.js"

/**
 * What one actor knows about its product. `version` is the row version the database has
 * once every commit handed over so far has landed; only the committer changes it.
 */
export interface ProductCell {
  readonly productId: ProductId
  exists: boolean
  level: Stock.StockLevel
  threshold: number
  location: string | null
  /** never reserved by orders */
  safetyStock: number
  version: number
  /** the level the row has once every commit handed over so far has landed (the ledger starts from it) */
  committed: Stock.StockLevel
  /** decisions applied in memory and not yet committed (the actor must not be passivated) */
  holds: number
  /**
   * Changes to the level given out and not yet handed to the committer (nor given back by a
   * failing saga): while there are any, the level may include a hold that is about to be undone.
   */
  tentative: number
  /** short reservations waiting for the tentative changes to settle: a refusal rests on firm stock only */
  parked: Array<Command>
  lastUsed: number
}

export const cellFromRow = (productId: ProductId, row: StockRow | undefined): ProductCell => {
  const level = row ? { available: row.available, reserved: row.reserved, onHand: row.onHand } : Stock.emptyStock
  return {
    productId,
    exists: row !== undefined,
    level,
    threshold: row?.threshold ?? 0,
    location: row?.location ?? null,
    safetyStock: row?.safetyStock ?? 0,
    version: row?.version ?? 0,
    committed: level,
    holds: 0,
    tentative: 0,
    parked: [],
    lastUsed: Date.now(),
  }
}

/** A stock change applied in memory, to be committed with the decision that caused it. */
export interface Move {
  readonly cell: ProductCell
  readonly before: Stock.StockLevel
  readonly after: Stock.StockLevel
  /** when it was applied, across all actors: a product's moves are ordered by it */
  readonly seq: number
}

let applied = 0

export interface Definition {
  readonly initialQuantity: number
  readonly threshold?: number | undefined
  readonly location?: string | null | undefined
  readonly safetyStock?: number | undefined
}

/** How an actor answers: the resume callback of the asking fiber. */
export type Reply<A, E> = (result: Effect.Effect<A, E>) => void

export type Command =
  | { readonly _tag: "Reserve"; readonly quantity: number; readonly reply: Reply<Move, LineShort | StaleGeneration> }
  | {
      readonly _tag: "Release"
      readonly quantity: number
      /** a saga undoing its own uncommitted reservation: gives the hold back */
      readonly compensation: boolean
      readonly reply: Reply<Move, InconsistentMemory | StaleGeneration>
    }
  | {
      readonly _tag: "Fulfil"
      readonly quantity: number
      readonly reply: Reply<Move, InconsistentMemory | StaleGeneration>
    }
  | {
      readonly _tag: "Adjust"
      /** units added (negative: removed), or a count: on hand becomes the counted figure */
      readonly change: number | { readonly countedOnHand: number }
      /** compare-and-set: refused (StockMoved) unless on hand is this figure */
      readonly expectedOnHand?: number | undefined
      /** undoes an adjustment of the same request that was never handed to the committer */
      readonly undo?: true
      readonly reply: Reply<Move, NotEnoughToRemove | StockMoved | UnknownProduct | StaleGeneration>
    }
  | {
      readonly _tag: "Define"
      readonly definition: Definition
      readonly reply: Reply<{ readonly move: Move; readonly created: boolean }, StaleGeneration>
    }

/**
 * A product's actor: its state, a bounded mailbox, and (while there is mail) a fiber that
 * applies the commands one at a time in arrival order. Commands that find the mailbox full
 * wait in `overflow`, in order, and their senders stay suspended: backpressure, nothing dropped.
 */
export interface Actor {
  readonly cell: ProductCell
  mailbox: Array<Command>
  readonly overflow: Array<Command>
  draining: boolean
}

export const makeActor = (cell: ProductCell): Actor => ({ cell, mailbox: [], overflow: [], draining: false })

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

export const isIdle = (actor: Actor): boolean =>
  !actor.draining && actor.mailbox.length === 0 && actor.overflow.length === 0 && actor.cell.holds === 0

export const depth = (actor: Actor): number => actor.mailbox.length + actor.overflow.length

const stale = new StaleGeneration()
const succeed = <A, E>(reply: Reply<A, E>, value: A): void => reply(Effect.succeed(value))
const fail = <A, E>(reply: Reply<A, E>, error: E): void => reply(Effect.fail(error))

/**
 * Moves the cell to `after` and answers the move. A move is tentative until its decision is handed
 * to the committer; one that gives back a change never handed over (`givesBack`) settles it instead.
 */
const move = (
  cell: ProductCell,
  before: Stock.StockLevel,
  after: Stock.StockLevel,
  reply: Reply<Move, never>,
  givesBack = false,
) => {
  cell.level = after
  succeed(reply, { cell, before, after, seq: ++applied })
  if (givesBack) {
    cell.holds--
    settle(cell, false)
  } else {
    cell.holds++
    cell.tentative++
  }
}

/**
 * Applies one command to the cell. Synchronous: an actor's commands never interleave. A short
 * reservation is refused only when nothing on the product is tentative; until then it is parked
 * and its sender waits (it is applied again when the last tentative change settles).
 */
export const apply = (cell: ProductCell, command: Command, generationClosed: boolean): void => {
  if (generationClosed) {
    fail(command.reply as Reply<unknown, StaleGeneration>, stale)
    return
  }
  const before = cell.level
  switch (command._tag) {
    case "Reserve": {
      // orders take only the sellable quantity: safety stock stays on the shelf
      const sellable = Math.max(0, before.available - cell.safetyStock)
      const next = sellable >= command.quantity ? Stock.reserve(before, command.quantity) : undefined
      if (next === undefined || Either.isLeft(next)) {
        if (cell.tentative > 0) {
          cell.parked.push(command)
          break
        }
        cell.holds++ // the refusal re-checks the version at commit
        fail(command.reply, new LineShort({ cell, requested: command.quantity, available: sellable }))
        break
      }
      move(cell, before, next.right, command.reply)
      break
    }
    case "Release": {
      const next = Stock.release(before, command.quantity)
      if (Either.isLeft(next)) {
        fail(command.reply, new InconsistentMemory({ productId: cell.productId }))
        break
      }
      // a compensation gives back a hold that was never handed to the committer
      move(cell, before, next.right, command.reply, command.compensation)
      break
    }
    case "Fulfil": {
      const next = Stock.fulfil(before, command.quantity)
      if (Either.isLeft(next)) {
        fail(command.reply, new InconsistentMemory({ productId: cell.productId }))
        break
      }
      move(cell, before, next.right, command.reply)
      break
    }
    case "Adjust": {
      if (!cell.exists) {
        fail(command.reply, new UnknownProduct({ productId: cell.productId }))
        break
      }
      if (command.expectedOnHand !== undefined && command.expectedOnHand !== before.onHand) {
        fail(command.reply, new StockMoved({ onHand: before.onHand, expected: command.expectedOnHand }))
        break
      }
      const delta = typeof command.change === "number" ? command.change : command.change.countedOnHand - before.onHand
      const next = Stock.adjust(before, delta)
      if (Either.isLeft(next)) {
        fail(command.reply, new NotEnoughToRemove({ cell, requested: -delta, available: before.available }))
        break
      }
      move(cell, before, next.right, command.reply, command.undo === true)
      break
    }
    case "Define": {
      cell.holds++
      cell.tentative++
      const { definition } = command
      const created = !cell.exists
      if (created) cell.level = Stock.stockOf(definition.initialQuantity)
      cell.exists = true
      if (definition.threshold !== undefined) cell.threshold = definition.threshold
      if (definition.location !== undefined) cell.location = definition.location
      if (definition.safetyStock !== undefined) cell.safetyStock = definition.safetyStock
      succeed(command.reply, { move: { cell, before, after: cell.level, seq: ++applied }, created })
      break
    }
  }
}

/**
 * A tentative change settled: handed to the committer with its decision, or given back. When none
 * is left, the parked reservations are applied again, in the order they came: each is now either
 * taken or refused on firm stock.
 */
export const settle = (cell: ProductCell, generationClosed: boolean): void => {
  cell.tentative--
  if (cell.tentative > 0 || cell.parked.length === 0) return
  const parked = cell.parked
  cell.parked = []
  for (const command of parked) apply(cell, command, generationClosed)
}

/** The generation ended: parked reservations are answered StaleGeneration. */
export const dismissParked = (cell: ProductCell): void => {
  const parked = cell.parked
  cell.parked = []
  for (const command of parked) apply(cell, command, true)
}

/** The actor's fiber: applies what is in the mailbox, in order, until it is empty. */
export const drain = (actor: Actor, capacity: number, isClosed: () => boolean): Effect.Effect<void> =>
  Effect.sync(() => {
    while (actor.mailbox.length > 0) {
      const batch = actor.mailbox
      actor.mailbox = []
      while (actor.overflow.length > 0 && actor.mailbox.length < capacity) actor.mailbox.push(actor.overflow.shift()!)
      const closed = isClosed()
      for (const command of batch) apply(actor.cell, command, closed)
    }
    actor.draining = false
    actor.cell.lastUsed = Date.now()
  })
