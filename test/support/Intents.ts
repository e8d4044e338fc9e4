import type { CommitBatch, DecisionIntents, ProductWrite } from "../../src/Store/CommitBatch.js"

// Commit batches written by hand, for the tests of the commit's contract.

export const decision = (parts: Partial<DecisionIntents>): DecisionIntents => ({
  changes: [],
  events: [],
  idempotency: [],
  ...parts,
})

export const batch = (products: ReadonlyArray<ProductWrite>, ...decisions: Array<DecisionIntents>): CommitBatch => ({
  products,
  decisions,
  fences: [],
})
