import type { SqlError } from "@effect/sql/SqlError"
import { Deferred, Effect, FiberId, Queue, type Scope } from "effect"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import type { KnownOrder, StockRow } from "../Store/StockStore.js"
import * as ProductActor from "./ProductActor.js"

/** An order decided in this generation (committed or not), or one being decided right now. */
export type OrderSlot =
  | { readonly _tag: "Deciding"; readonly done: Deferred.Deferred<void> }
  | ({ readonly _tag: "Decided" } & KnownOrder)

export interface GenerationDeps {
  readonly loadStock: (ids: ReadonlyArray<ProductId>) => Effect.Effect<ReadonlyArray<StockRow>, SqlError>
  readonly mailboxCapacity: number
  readonly scope: Scope.Scope
}

/**
 * Everything the engine holds in memory, as one unit. A failed commit discards the whole
 * generation (its actors answer StaleGeneration from then on) and a fresh one reloads from
 * PostgreSQL, so no decision is ever taken on state the database did not confirm.
 */
export class Generation {
  readonly actors = new Map<ProductId, ProductActor.Actor>()
  readonly orders = new Map<OrderId, OrderSlot>()
  closed = false

  constructor(
    readonly id: number,
    private readonly deps: GenerationDeps,
  ) {}

  /** Spawns actors for the products not in memory yet, loading them in one query. */
  readonly ensure = (ids: Iterable<ProductId>): Effect.Effect<void, SqlError> =>
    Effect.suspend(() => {
      const missing = [...new Set(ids)].filter((id) => !this.actors.has(id))
      if (missing.length === 0 || this.closed) return Effect.void
      return Effect.gen(this, function* () {
        const rows = yield* this.deps.loadStock(missing)
        const byId = new Map(rows.map((r) => [r.productId, r]))
        const mailboxes = yield* Effect.forEach(missing, () =>
          Queue.bounded<ProductActor.Command>(this.deps.mailboxCapacity),
        )
        const spawned: Array<ProductActor.Actor> = []
        missing.forEach((id, i) => {
          if (this.actors.has(id) || this.closed) return // spawned meanwhile by someone else
          const actor = { cell: ProductActor.cellFromRow(id, byId.get(id)), mailbox: mailboxes[i]! }
          this.actors.set(id, actor)
          spawned.push(actor)
        })
        for (const actor of spawned) {
          yield* Effect.forkIn(
            ProductActor.run(actor, () => this.closed),
            this.deps.scope,
          )
        }
      })
    })

  /** Sends a command to a product's actor (spawning it if needed) and waits for the answer. */
  readonly send = <A, E>(
    productId: ProductId,
    make: (reply: Deferred.Deferred<A, E>) => ProductActor.Command,
  ): Effect.Effect<A, E | ProductActor.StaleGeneration | SqlError> =>
    Effect.suspend(() => {
      if (this.closed) return Effect.fail(new ProductActor.StaleGeneration())
      const actor = this.actors.get(productId)
      if (actor === undefined) return Effect.zipRight(this.ensure([productId]), this.send(productId, make))
      actor.cell.inflight++
      const reply = Deferred.unsafeMake<A, E>(FiberId.none)
      const command = make(reply)
      if (actor.mailbox.unsafeOffer(command)) return Deferred.await(reply)
      return Effect.zipRight(Queue.offer(actor.mailbox, command), Deferred.await(reply)) // mailbox full: backpressure
    })

  /** Passivates actors idle for `idleMs` with nothing in flight and nothing uncommitted. */
  readonly sweep = (idleMs: number): number => {
    const now = Date.now()
    let stopped = 0
    for (const [id, { cell, mailbox }] of this.actors) {
      if (now - cell.lastUsed < idleMs || cell.inflight > 0 || cell.holds > 0) continue
      this.actors.delete(id)
      cell.stopped = true
      mailbox.unsafeOffer({ _tag: "Wake" })
      stopped++
    }
    return stopped
  }

  /** Ends this generation: every actor answers what it still has with StaleGeneration and stops. */
  readonly close = (): void => {
    this.closed = true
    for (const { cell, mailbox } of this.actors.values()) {
      cell.stopped = true
      mailbox.unsafeOffer({ _tag: "Wake" })
    }
    for (const slot of this.orders.values()) if (slot._tag === "Deciding") Deferred.unsafeDone(slot.done, Effect.void)
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
