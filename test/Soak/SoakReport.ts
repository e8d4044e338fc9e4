// The soak's summary: a row per run, printed as the Markdown table the README keeps.

export interface SoakRow {
  readonly seed: number
  readonly minutes: number
  readonly orders: number
  readonly faults: Record<string, number>
  readonly lost: number
  readonly doubled: number
  readonly repeatedEvents: number
  readonly events: number
  readonly maxRecoverySeconds: number
  readonly violations: number
  /** products the service's reconciliation reported drifting at the end */
  readonly drift: number
  /** rows the SQL check of the books found wrong at the end (reserved against held lines, status against lines, the ledger) */
  readonly books: number
}

/** The runs as a Markdown table, one column per kind of fault. */
export const soakTable = (rows: ReadonlyArray<SoakRow>) => {
  const kinds = [...new Set(rows.flatMap((r) => Object.keys(r.faults)))].sort()
  const lines = rows.map(
    (r) =>
      `| ${r.seed} | ${r.minutes} | ${r.orders} | ${kinds.map((k) => r.faults[k] ?? 0).join(" | ")} | ${r.lost} | ${r.doubled} | ${r.repeatedEvents} of ${r.events} | ${r.maxRecoverySeconds.toFixed(1)} | ${r.violations} | ${r.drift} | ${r.books} |`,
  )
  return [
    "",
    `| seed | minutes | orders | ${kinds.join(" | ")} | lost | doubled | repeated events | max recovery (s) | violations | drift | books off |`,
    `|${"---|".repeat(10 + kinds.length)}`,
    ...lines,
  ].join("\n")
}
