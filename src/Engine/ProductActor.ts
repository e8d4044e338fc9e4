import { Effect, Either } from "effect"
import * as Stock from "../Domain/Stock.js"
import { type Actor, cellAt } from "./Actor.js"
import type { Command, Move, Reply } from "./ActorCommands.js"
import {
  BackorderLimitBelowPromised,
  InconsistentMemory,
  LineShort,
  NotEnoughToRemove,
  StaleGeneration,
  StockMoved,
  UnknownProduct,
} from "./Errors.js"
import { backorderRoom, fillable, type ProductCell, sellable } from "./ProductCell.js"

export { adopt, type ProductCell } from "./ProductCell.js"

// What a product's actor does with its commands (the actor itself, its cells and mailbox: Actor.ts):
// each applied at once to the cells, the change held until its commit is over.

/**
 * What a decision took from an actor: a change applied in memory (or, with no change, a product a
 * refusal rests on). A change is handed to the committer with its decision, or given back by a
 * failing saga, exactly once; the hold is settled once its commit is over (or it was given back).
 * Until then the actor stays in memory, and the change counts in the cell's `inFlight`.
 */
export class Hold {
  #state: "applied" | "handedOver" | "settled"
  #inFlight: boolean
  constructor(
    readonly cell: ProductCell,
    readonly change: Stock.StockLevel | undefined,
    /** units promised (negative: promises dropped or filled) */
    readonly promised = 0,
  ) {
    cell.holds++
    this.#state = change !== undefined ? "applied" : "handedOver"
    this.#inFlight = change !== undefined
    if (change !== undefined) {
      cell.unsettled++
      cell.inFlight = Stock.plus(cell.inFlight, change)
      cell.backorderedInFlight += promised
    }
  }
  /** Its change is committed (or given back): no longer in flight. */
  land(): void {
    if (!this.#inFlight) return
    this.#inFlight = false
    this.cell.inFlight = Stock.minus(this.cell.inFlight, this.change!)
    this.cell.backorderedInFlight -= this.promised
  }
  /** Its decision is queued for commit: a refusal decided from now on rests on it. */
  handOver(): void {
    if (this.#state !== "applied") return
    this.#state = "handedOver"
    firm(this.cell)
  }
  /** Its commit is over, or its change was given back. */
  settle(): void {
    if (this.#state === "settled") return
    const given = this.#state === "applied"
    this.#state = "settled"
    this.land()
    this.cell.holds--
    if (given) firm(this.cell)
  }
}

/** One change less in doubt; when none is, the parked reservations are applied again, in order. */
const firm = (cell: ProductCell): void => {
  cell.unsettled--
  if (cell.unsettled > 0 || cell.parked.length === 0) return
  const parked = cell.parked
  cell.parked = []
  for (const command of parked) apply(cell.actor, command, false)
}

/** The generation ended: parked reservations are answered StaleGeneration. */
export const dismissParked = (cell: ProductCell): void => {
  const parked = cell.parked
  cell.parked = []
  for (const command of parked) apply(cell.actor, command, true)
}

export type { Command, Definition, Move, Reply } from "./ActorCommands.js"

const stale = new StaleGeneration()

/**
 * Moves the cell to `after` (and its promises by `promised`): a new hold, or (giving back) the
 * settling of an old one.
 */
const move = (
  cell: ProductCell,
  before: Stock.StockLevel,
  after: Stock.StockLevel,
  givesBack?: Hold,
  promised = 0,
): Move => {
  cell.level = after
  cell.backordered += promised
  const base = { before, after, ...(promised !== 0 ? { promised } : {}) }
  if (givesBack === undefined) return { hold: new Hold(cell, Stock.difference(before, after), promised), ...base }
  givesBack.settle()
  return { hold: givesBack, ...base }
}

/** The first units at a location where the product was not kept: its stock there starts. */
const createdBy = (cell: ProductCell, before: Stock.StockLevel, after: Stock.StockLevel): Move => {
  cell.exists = true
  return { ...move(cell, before, after), created: true }
}

const answer = <A, E>(reply: Reply<A, E>, result: Either.Either<A, E>): void =>
  reply(Either.isRight(result) ? Effect.succeed(result.right) : Effect.fail(result.left))

/** Changes in doubt at a cell that a command made itself. */
const ownMoves = (moves: ReadonlyArray<Move>, cell: ProductCell): number => {
  let n = 0
  for (const m of moves) if (m.hold.cell === cell) n++
  return n
}

/**
 * Takes a line from the cells in the order given, as much as each can sell, and promises what is
 * still missing where backorders have room (in the same order); all of it or nothing. Orders take
 * only the sellable quantity (safety stock stays on the shelf, units owed to backorders go to them;
 * the commit judges it again).
 */
const reserveAcross = (actor: Actor, command: Extract<Command, { _tag: "Reserve" }>): void => {
  const moves: Array<Move> = []
  for (const [n, line] of command.lines.entries()) {
    const { locations, quantity } = line
    const cells = locations.length === 1 ? [cellAt(actor, locations[0]!)] : locations.map((l) => cellAt(actor, l))
    let total = 0
    let room = 0
    for (const cell of cells) {
      total += sellable(cell)
      room += backorderRoom(cell)
    }
    // short, or short enough to promise: refused or promised only on firm stock (parked until then);
    // the command's own earlier lines are not in doubt
    const inDoubt = total < quantity ? cells.find((c) => c.unsettled > ownMoves(moves, c)) : undefined
    if (total + room < quantity || inDoubt !== undefined) {
      // the lines taken before it go back (never handed over: nobody else saw them)
      for (let i = moves.length - 1; i >= 0; i--) {
        const m = moves[i]!
        m.hold.cell.level = m.before
        m.hold.cell.backordered -= m.promised ?? 0
      }
      for (const m of moves) m.hold.settle()
      if (inDoubt !== undefined) inDoubt.parked.push(command)
      else command.reply(Effect.fail(shortOver(actor, command.lines.slice(0, n + 1), cells, locations)))
      return
    }
    let left = quantity
    let promise = Math.max(0, quantity - total)
    for (const cell of cells) {
      const take = Math.min(left - promise, sellable(cell))
      const promised = Math.min(promise, backorderRoom(cell))
      if (take + promised === 0) continue
      const before = cell.level
      moves.push(move(cell, before, Either.getOrThrow(Stock.reserve(before, take)), undefined, promised))
      left -= take + promised
      promise -= promised
      if (left === 0) break
    }
  }
  command.reply(Effect.succeed(moves))
}

/**
 * The refusal of a line, as PostgreSQL can check it on the rows: what the lines of the product served
 * only from `locations` ask for together (a pinned line before an unpinned one took from the same
 * places), against what those places can sell.
 */
const shortOver = (
  actor: Actor,
  lines: ReadonlyArray<{ readonly quantity: number; readonly locations: ReadonlyArray<string> }>,
  cells: ReadonlyArray<ProductCell>,
  locations: ReadonlyArray<string>,
): LineShort => {
  let requested = 0
  for (const l of lines) if (l.locations.every((id) => locations.includes(id))) requested += l.quantity
  let available = 0
  for (const cell of cells) available += sellable(cell)
  return new LineShort({ productId: actor.productId, requested, available, locations })
}

/** Applies one command to the actor's cells. Synchronous: an actor's commands never interleave. */
export const apply = (actor: Actor, command: Command, generationClosed: boolean): void => {
  if (generationClosed) {
    ;(command.reply as Reply<unknown, StaleGeneration>)(Effect.fail(stale))
    return
  }
  if (command._tag === "Reserve") {
    reserveAcross(actor, command)
    return
  }
  const cell = cellAt(actor, command.location)
  const before = cell.level
  switch (command._tag) {
    case "Release":
    case "Fulfil": {
      const drops = command._tag === "Release" ? (command.drops ?? 0) : 0
      const next = (command._tag === "Release" ? Stock.release : Stock.fulfil)(before, command.quantity)
      answer(
        command.reply,
        Either.isLeft(next) || drops > cell.backordered
          ? Either.left(new InconsistentMemory({ productId: cell.productId }))
          : Either.right(
              move(cell, before, next.right, command._tag === "Release" ? command.givesBack : undefined, -drops),
            ),
      )
      return
    }
    case "Fill": {
      const fill = Math.min(command.quantity, fillable(cell), cell.backordered)
      command.reply(
        Effect.succeed(
          fill === 0 ? undefined : move(cell, before, Either.getOrThrow(Stock.reserve(before, fill)), undefined, -fill),
        ),
      )
      return
    }
    case "Adjust": {
      const created = !cell.exists
      if (created && command.createIfMissing !== true) {
        answer(command.reply, Either.left(new UnknownProduct({ productId: cell.productId })))
        return
      }
      if (command.expectedOnHand !== undefined && command.expectedOnHand !== before.onHand) {
        answer(command.reply, Either.left(new StockMoved({ onHand: before.onHand, expected: command.expectedOnHand })))
        return
      }
      const delta = typeof command.change === "number" ? command.change : command.change.countedOnHand - before.onHand
      const next = Stock.adjust(before, delta)
      answer(
        command.reply,
        Either.isLeft(next)
          ? Either.left(
              new NotEnoughToRemove({ productId: cell.productId, requested: -delta, available: before.available }),
            )
          : Either.right(
              created ? createdBy(cell, before, next.right) : move(cell, before, next.right, command.givesBack),
            ),
      )
      return
    }
    case "Define": {
      const { definition } = command
      const limit = definition.backorderLimit
      if (limit !== undefined && limit < cell.backordered) {
        const { productId, locationId, backordered } = cell
        answer(
          command.reply,
          Either.left(new BackorderLimitBelowPromised({ productId, locationId, backordered, limit })),
        )
        return
      }
      const created = !cell.exists
      if (created) cell.level = Stock.stockOf(definition.initialQuantity)
      cell.exists = true
      if (definition.threshold !== undefined) cell.threshold = definition.threshold
      if (definition.location !== undefined) cell.location = definition.location
      if (definition.safetyStock !== undefined) cell.safetyStock = definition.safetyStock
      if (limit !== undefined) cell.backorderLimit = limit
      const move = { hold: new Hold(cell, Stock.difference(before, cell.level)), before, after: cell.level }
      command.reply(Effect.succeed({ move, created }))
      return
    }
  }
}

/** The actor's fiber: applies what is in the mailbox, in order, until it is empty. */
export const drain = (actor: Actor, capacity: number, isClosed: () => boolean): Effect.Effect<void> =>
  Effect.sync(() => {
    while (actor.mailbox.length > 0) {
      const batch = actor.mailbox
      actor.mailbox = []
      while (actor.overflow.length > 0 && actor.mailbox.length < capacity) actor.mailbox.push(actor.overflow.shift()!)
      const closed = isClosed()
      for (const command of batch) apply(actor, command, closed)
    }
    actor.draining = false
    actor.lastUsed = Date.now()
  })
