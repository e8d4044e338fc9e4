import { Data } from "effect"

// The store's failures beside SqlError (which carries its cause): a commit that lost a race, and a
// database that cannot be reached or created at start.

/** Someone else changed what this batch was decided against: reload and decide again. */
export class CommitConflict extends Data.TaggedError("CommitConflict")<{
  readonly reason: string
  readonly productIds: ReadonlyArray<string>
}> {}

export class DatabaseUnavailable extends Data.TaggedError("DatabaseUnavailable")<{ readonly reason: string }> {
  override get message() {
    return `cannot reach or create the database in DATABASE_URL: ${this.reason}`
  }
}
