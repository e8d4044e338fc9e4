import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import type { KnownOrder } from "../Domain/Lifecycle.js"
import type { StockRow } from "../Store/StockStore.js"
import * as Actor from "./Actor.js"
import { StaleGeneration } from "./Errors.js"
import * as Pending from "./Pending.js"
import * as ProductActor from "./ProductActor.js"

/** An order decided in this generation (committed or not), or one being decided right now. */
export type OrderSlot =
  | { readonly _tag: "Deciding"; readonly done: Pending.Pending<void, never> }
  | ({
      readonly _tag: "Decided"
      /** the decision taken in this generation, until it is durable (a repeat of the message waits for it) */
      pending?: Pending.Pending<void, StaleGeneration>
    } & KnownOrder)

export interface GenerationDeps {
  readonly loadStock: (ids: ReadonlyArray<ProductId>) => Effect.Effect<ReadonlyArray<StockRow>, SqlError>
  readonly mailboxCapacity: number
  /** starts an actor's fiber */
  readonly fork: (effect: Effect.Effect<void>) => void
}

/**
 * Everything the engine holds in memory, as one unit. A failed commit discards the whole
 * generation (its actors answer StaleGeneration from then on) and a fresh one reloads from
 * PostgreSQL, so no decision is ever taken on state the database did not confirm.
 */
export class Generation {
  readonly actors = new Map<ProductId, Actor.Actor>()
  readonly orders = new Map<OrderId, OrderSlot>()
  closed = false
  private readonly isClosed = () => this.closed

  constructor(
    readonly id: number,
    private readonly deps: GenerationDeps,
  ) {}

  /** The products among `ids` with no actor in memory yet. */
  readonly missing = (ids: Iterable<ProductId>): Array<ProductId> =>
    this.closed ? [] : [...new Set(ids)].filter((id) => !this.actors.has(id))

  /** Creates actors for `missing` from their rows as loaded (a product with no row starts empty). */
  readonly adopt = (missing: ReadonlyArray<ProductId>, rows: ReadonlyArray<StockRow>): void => {
    const byId = new Map<ProductId, Array<StockRow>>()
    for (const r of rows) {
      const list = byId.get(r.productId)
      if (list === undefined) byId.set(r.productId, [r])
      else list.push(r)
    }
    for (const id of missing) {
      if (this.actors.has(id) || this.closed) continue // created meanwhile by someone else
      this.actors.set(id, Actor.makeActor(id, byId.get(id) ?? []))
    }
  }

  /** Creates actors for the products not in memory yet, loading them in one query. */
  readonly ensure = (ids: Iterable<ProductId>): Effect.Effect<void, SqlError> =>
    Effect.suspend(() => {
      const missing = this.missing(ids)
      if (missing.length === 0) return Effect.void
      return Effect.map(this.deps.loadStock(missing), (rows) => this.adopt(missing, rows))
    })

  /**
   * Sends a command to a product's actor (creating it if needed) and waits for the answer. An
   * actor with no mail waiting and no fiber running applies it at once, in the sender's fiber
   * (the fast path: arrival order is kept, since nothing arrived before it); otherwise it goes to
   * the mailbox and the actor's fiber answers.
   */
  readonly send = <A, E>(
    productId: ProductId,
    make: (reply: ProductActor.Reply<A, E>) => ProductActor.Command,
  ): Effect.Effect<A, E | StaleGeneration | SqlError> =>
    Effect.suspend(() => {
      const actor = this.actors.get(productId)
      if (this.closed || actor === undefined || !Actor.isFree(actor)) return this.post(productId, make)
      let answer: Effect.Effect<A, E> | undefined
      let resume: ((result: Effect.Effect<A, E>) => void) | undefined
      ProductActor.apply(
        actor,
        make((result) => {
          if (resume === undefined) answer = result
          else resume(result)
        }),
        false,
      )
      actor.lastUsed = Date.now()
      if (answer !== undefined) return answer
      // parked (a short reservation waiting for changes in doubt to settle): answered later
      return Effect.async<A, E>((r) => {
        if (answer !== undefined) r(answer)
        else resume = r
      })
    })

  /** Holds on a product at these locations with no change (a refusal rests on them); none if it is gone. */
  readonly holds = (productId: ProductId, locations: ReadonlyArray<string>): Array<ProductActor.Hold> | undefined => {
    const actor = this.actors.get(productId)
    if (actor === undefined || this.closed) return undefined
    return locations.map((l) => new ProductActor.Hold(Actor.cellAt(actor, l), undefined))
  }

  private readonly post = <A, E>(
    productId: ProductId,
    make: (reply: ProductActor.Reply<A, E>) => ProductActor.Command,
  ): Effect.Effect<A, E | StaleGeneration | SqlError> =>
    // No canceller, on purpose: a command in a mailbox is applied whether or not its sender still
    // waits, so a sender must not be interrupted between posting and handing over (or giving back)
    // what was applied; the saga and the stock writes run that stretch uninterruptibly.
    Effect.async<A, E | StaleGeneration | SqlError>((resume) => {
      // lookup and post in one synchronous step: a sweep can never remove the actor in between
      if (this.closed) return resume(Effect.fail(new StaleGeneration()))
      const actor = this.actors.get(productId)
      if (actor === undefined) return resume(Effect.zipRight(this.ensure([productId]), this.send(productId, make)))
      const { mailboxCapacity } = this.deps
      if (Actor.post(actor, make(resume), mailboxCapacity)) {
        this.deps.fork(ProductActor.drain(actor, mailboxCapacity, this.isClosed))
      }
    })

  /** Passivates actors idle for `idleMs` with no mail and nothing uncommitted. */
  readonly sweep = (idleMs: number): number => {
    const now = Date.now()
    let removed = 0
    for (const [id, actor] of this.actors) {
      if (now - actor.lastUsed < idleMs || !Actor.isIdle(actor)) continue
      this.actors.delete(id)
      removed++
    }
    return removed
  }

  /**
   * Mail waiting in all mailboxes (backpressure), reservations parked, and changes applied but neither
   * handed to the committer nor given back (what parked reservations wait for: it should drain to 0).
   */
  readonly census = (): { readonly mail: number; readonly parked: number; readonly unsettled: number } => {
    let mail = 0
    let parked = 0
    let unsettled = 0
    for (const actor of this.actors.values()) {
      mail += Actor.depth(actor)
      for (const cell of actor.cells.values()) {
        parked += cell.parked.length
        unsettled += cell.unsettled
      }
    }
    return { mail, parked, unsettled }
  }

  /** Ends this generation: actors answer what is left with StaleGeneration, waiters wake up. */
  readonly close = (): void => {
    this.closed = true
    for (const actor of this.actors.values()) for (const cell of actor.cells.values()) ProductActor.dismissParked(cell)
    for (const slot of this.orders.values()) if (slot._tag === "Deciding") Pending.succeed(slot.done, undefined)
  }

  /** Bounded memory for decided orders: the oldest entries go first (the database remains the record). */
  readonly trimOrders = (max: number): void => {
    if (this.orders.size <= max) return
    let excess = this.orders.size - Math.floor(max * 0.75)
    for (const [id, slot] of this.orders) {
      if (excess-- <= 0) break
      if (slot._tag === "Decided") this.orders.delete(id)
    }
  }
}
