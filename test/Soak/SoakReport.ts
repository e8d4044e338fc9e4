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
}

/** The runs as a Markdown table, one column per kind of fault. */
export const soakTable = (rows: ReadonlyArray<SoakRow>) => {
  const kinds = [...new Set(rows.flatMap((r) => Object.keys(r.faults)))].sort()
  const lines = rows.map(
    (r) =>
      `| ${r.seed} | ${r.minutes} | ${r.orders} | ${kinds.map((k) => r.faults[k] ?? 0).join(" | ")} | ${r.lost} | ${r.doubled} | ${r.repeatedEvents} of ${r.events} | ${r.maxRecoverySeconds.toFixed(1)} | ${r.violations} |`,
  )
  return [
    "",
    `| seed | minutes | orders | ${kinds.join(" | ")} | lost | doubled | repeated events | max recovery (s) | violations |`,
    `|${"---|".repeat(8 + kinds.length)}`,
    ...lines,
  ].join("\n")
}
