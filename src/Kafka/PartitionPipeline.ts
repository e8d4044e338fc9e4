import { Effect, Either } from "effect"
import type { OrderMessage } from "../Domain/Orders.js"
import type { DecidedChunk } from "../Engine/Engine.js"
import { type Signal, settledOr } from "./Signal.js"
import type { UndurableBudget } from "./UndurableBudget.js"

export interface PipelineDeps {
  /** the instance's orders decided and not yet durable, shared by its partitions */
  readonly budget: UndurableBudget
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>
  /** decides a chunk in memory, only in generation `expected` when given */
  readonly decide: (messages: ReadonlyArray<OrderMessage>, expected?: number) => Effect.Effect<DecidedChunk, unknown>
  /**
   * decides a chunk and waits until it is durable, deciding again until it is; fails only when the
   * partition is no longer this instance's (then nothing after it is acknowledged either)
   */
  readonly process: (messages: ReadonlyArray<OrderMessage>) => Effect.Effect<void, unknown>
  /**
   * the chunks up to this offset are durable: commit the offset after it (never throws; may take a
   * while, say while the broker is away: meanwhile later chunks settle and only the newest is sent)
   */
  readonly acknowledge: (lastOffset: string) => Promise<void>
  /**
   * the pipeline stopped on a failure (see `failure`): its partition must be read again from this
   * offset (the failed chunk's first, or before it), so the failure surfaces even if nothing new comes
   */
  readonly stopped: (from: string) => void
}

/**
 * One partition's chunks, pipelined: the next chunk is decided while the ones before it are being
 * committed, so JavaScript and PostgreSQL work at the same time instead of taking turns. The
 * pipeline outlives a Kafka fetch: the consumer returns to fetch more while the last chunks of
 * the previous fetch are still being committed.
 *
 * Offsets are acknowledged in order and only once durable: each chunk settles on a chain after
 * the one before it. Acknowledging is off the chain: one offset commit at a time, always of the
 * newest durable offset, so a slow commit delays no chunk and many are covered by one. All chunks in flight were decided in one generation; when a chunk turns out
 * not durable (that generation was discarded after a failed commit), it is decided again, and so
 * is every chunk after it (they were decided in the same discarded generation), in order.
 */
export const partitionPipeline = (deps: PipelineDeps) => {
  /** settles after the newest chunk pushed is durable */
  let chain: Promise<void> = Promise.resolve()
  /** chunks pushed and not yet durable, oldest first; `again` once one is being decided again */
  const inflight: Array<Chunk> = []
  interface Chunk {
    readonly generation: number
    readonly size: number
    readonly since: number
    settled: Promise<void>
    again: boolean
  }
  const undurable = () => inflight.reduce((n, chunk) => n + chunk.size, 0)

  /**
   * A defect while settling (a bug, not a failed commit: those are decided again) stops the
   * pipeline: no later offset is acknowledged past the chunk that failed, and the next push or
   * drain throws it, so the consumer crashes and starts again from the last committed offset.
   */
  let failure: { readonly cause: unknown } | undefined
  const rethrow = () => {
    if (failure !== undefined) throw failure.cause
  }

  /** the newest durable offset not yet sent; the loop sending offsets, and when its commit began */
  let toAcknowledge: string | undefined
  let acknowledging: Promise<void> | undefined
  let acknowledgingSince = 0
  const sendOffsets = async () => {
    for (;;) {
      const offset = toAcknowledge
      if (offset === undefined) {
        acknowledging = undefined
        return
      }
      toAcknowledge = undefined
      acknowledgingSince = Date.now()
      await deps.acknowledge(offset)
    }
  }
  const acknowledge = (lastOffset: string) => {
    toAcknowledge = lastOffset
    acknowledging ??= sendOffsets()
  }

  /** Settles the chunk after every chunk before it: once it is durable, its offset is acknowledged. */
  const enqueue = (generation: number, size: number, durably: (chunk: Chunk) => Promise<void>, lastOffset: string) => {
    const chunk: Chunk = { generation, size, since: Date.now(), settled: chain, again: false }
    chunk.settled = chain
      .then(async () => {
        if (failure !== undefined) return
        await durably(chunk)
        acknowledge(lastOffset)
      })
      .catch((cause: unknown) => {
        if (failure !== undefined) return
        failure = { cause }
        const first = BigInt(lastOffset) - BigInt(size) + 1n
        deps.stopped((first < 0n ? 0n : first).toString())
      })
      .finally(() => {
        inflight.splice(inflight.indexOf(chunk), 1)
        deps.budget.give(size)
      })
    chain = chunk.settled
    inflight.push(chunk)
    return chunk.settled
  }

  /**
   * Waits for room in the budget (or until `stopWaiting` fires: the group is rebalancing, the member
   * must rejoin in time), then decides the chunk and returns: the chunk is in the pipeline, settled in
   * order.
   */
  const push = async (messages: ReadonlyArray<OrderMessage>, lastOffset: string, stopWaiting?: Signal) => {
    rethrow()
    while (!stopWaiting?.fired() && !deps.budget.fits(messages.length))
      await settledOr(deps.budget.released(), stopWaiting)
    rethrow()
    deps.budget.take(messages.length)
    // a defect while deciding (a bug: the consumer crashes and starts again) gives the room back; every
    // other outcome puts the chunk in the pipeline, which gives it back once the chunk settles
    const decided = await deps.run(Effect.either(deps.decide(messages, inflight[0]?.generation))).catch((defect) => {
      deps.budget.give(messages.length)
      throw defect
    })
    const decideAgain = (chunk: Chunk) => {
      chunk.again = true
      return deps.run(deps.process(messages))
    }
    const waitFor = (settled: Promise<void>) => settledOr(settled, stopWaiting)
    if (Either.isLeft(decided)) {
      // the generation changed (or the database failed): everything before this chunk first, in order
      await waitFor(enqueue(-1, messages.length, decideAgain, lastOffset))
      rethrow()
      return
    }
    const { durable, generation } = decided.right
    enqueue(
      generation,
      messages.length,
      async (chunk) => {
        if (Either.isLeft(await deps.run(Effect.either(durable)))) await decideAgain(chunk)
      },
      lastOffset,
    )
    rethrow()
  }

  /** Returns once every chunk pushed is durable and its offset acknowledged (or refused). */
  const drain = async () => {
    await chain
    rethrow()
    while (acknowledging !== undefined) await acknowledging
  }

  /**
   * What waits: the chunks not yet durable (how many, their orders, how long the oldest has waited,
   * whether it is being decided again) and how long the offset commit in progress has taken.
   */
  const backlog = () => ({
    chunks: inflight.length,
    orders: undurable(),
    oldestMs: inflight.length === 0 ? 0 : Date.now() - inflight[0]!.since,
    oldestDecidedAgain: inflight[0]?.again ?? false,
    acknowledgingMs: acknowledging === undefined ? 0 : Date.now() - acknowledgingSince,
  })

  return { push, drain, backlog } as const
}
