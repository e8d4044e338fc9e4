import { Effect, Either } from "effect"
import type { OrderMessage } from "../Domain/Orders.js"
import type { DecidedChunk } from "../Engine/Engine.js"

/** How many chunks of one partition may be decided before the oldest of them is durable. */
export const pipelineDepth = 2

export interface PipelineDeps {
  readonly run: <A>(effect: Effect.Effect<A>) => Promise<A>
  /** decides a chunk in memory, only in generation `expected` when given */
  readonly decide: (messages: ReadonlyArray<OrderMessage>, expected?: number) => Effect.Effect<DecidedChunk, unknown>
  /** decides a chunk and waits until it is durable, deciding again until it is */
  readonly process: (messages: ReadonlyArray<OrderMessage>) => Effect.Effect<void>
  /** the chunk ending at this offset is durable: commit the offset after it */
  readonly acknowledge: (lastOffset: string) => Promise<void>
}

interface InFlight {
  readonly messages: ReadonlyArray<OrderMessage>
  readonly lastOffset: string
  readonly decided: DecidedChunk
}

/**
 * One partition's chunks, pipelined: the next chunk is decided while the one before it is being
 * committed, so JavaScript and PostgreSQL work at the same time instead of taking turns. Offsets
 * are acknowledged in order and only once durable. All chunks in flight were decided in one
 * generation; when a chunk turns out not durable (that generation was discarded after a failed
 * commit), it is decided again, and so is every chunk after it (they were decided in the same
 * discarded generation), in order.
 */
export const partitionPipeline = (deps: PipelineDeps) => {
  const inflight: Array<InFlight> = []

  const settle = async (keep: number) => {
    while (inflight.length > keep) {
      const chunk = inflight.shift()!
      const durable = await deps.run(Effect.either(chunk.decided.durable))
      if (Either.isLeft(durable)) await deps.run(deps.process(chunk.messages))
      await deps.acknowledge(chunk.lastOffset)
    }
  }

  /** Decides the chunk and returns once at most `pipelineDepth - 1` chunks are not yet durable. */
  const push = async (messages: ReadonlyArray<OrderMessage>, lastOffset: string) => {
    const decided = await deps.run(Effect.either(deps.decide(messages, inflight[0]?.decided.generation)))
    if (Either.isLeft(decided)) {
      // the generation changed (or the database failed): everything before this chunk first, in order
      await settle(0)
      await deps.run(deps.process(messages))
      await deps.acknowledge(lastOffset)
      return
    }
    inflight.push({ messages, lastOffset, decided: decided.right })
    await settle(pipelineDepth - 1)
  }

  /** Returns once every chunk pushed is durable and acknowledged. */
  const drain = () => settle(0)

  return { push, drain } as const
}
