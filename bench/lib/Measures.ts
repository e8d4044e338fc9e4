// What a bench run measures in its database and reads off the service, beside throughput and latency.
import { readdirSync, readFileSync } from "node:fs"
import type pg from "pg"

/** The invariants of design.md that a run can break, checked on the rows (fewer for the yardsticks). */
export const invariants = async (client: pg.Client, system: string) => {
  // the original design keeps no reservation records, the ceiling decides nothing: only stock rows are checked
  const sql =
    system === "original" || system === "ceiling"
      ? "SELECT count(*)::int AS n FROM stock WHERE available < 0 OR reserved < 0 OR on_hand <> available + reserved"
      : `
    SELECT count(*)::int AS n FROM stock s
      LEFT JOIN (SELECT product_id, location_id, sum(quantity - fulfilled - released) AS held
                   FROM reservation_lines JOIN reservations USING (order_id)
                  WHERE status IN ('reserved', 'partially_fulfilled') GROUP BY product_id, location_id) l
        USING (product_id, location_id)
     WHERE s.available < 0 OR s.reserved <> COALESCE(l.held, 0) OR s.on_hand <> s.available + s.reserved`
  const { rows } = await client.query(sql)
  return rows[0].n === 0 ? "hold" : `${rows[0].n} products violate`
}

/** Rows written (inserted, updated, deleted) in the run's database, and the cluster's WAL position. */
export const writeCounters = async (client: pg.Client) => {
  // this connection's own writes (the seeding) reach the shared counters only when it flushes them, at
  // most once a second: without this, a seed flushed late was counted as the run's writes
  await client.query("SELECT pg_stat_force_next_flush()")
  const { rows } = await client.query(
    `SELECT pg_current_wal_lsn()::text AS lsn,
            (SELECT COALESCE(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables)::bigint AS rows`,
  )
  return { lsn: rows[0].lsn as string, rows: Number(rows[0].rows) }
}

/** Write amplification: rows and WAL bytes per order decided (WAL is cluster-wide: nothing else writes meanwhile). */
export const writesPerOrder = async (client: pg.Client, before: { lsn: string; rows: number }, orders: number) => {
  const after = await writeCounters(client)
  const { rows } = await client.query("SELECT pg_wal_lsn_diff($1, $2)::bigint AS bytes", [after.lsn, before.lsn])
  return {
    rowsPerOrder: orders === 0 ? 0 : (after.rows - before.rows) / orders,
    walBytesPerOrder: orders === 0 ? 0 : Number(rows[0].bytes) / orders,
  }
}

/**
 * CPU seconds (user + system) PostgreSQL's processes have used: every live process named postgres, and
 * what the postmaster collected from the backends that exited. Cluster-wide: nothing else runs meanwhile.
 */
export const postgresCpuSeconds = (): number => {
  let ticks = 0
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      if (!stat.includes("(postgres)")) continue
      const fields = stat.split(") ")[1]!.split(" ")
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
    } catch {
      // the process exited while the list was read: the postmaster counts it now
    }
  }
  return ticks / 100
}

/** The service's own view of where time goes: upper bounds of p50 / p99 from its histograms. */
export const serviceHistograms = async (port: string) => {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => "",
  )
  const quantiles = (name: string) => {
    const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\d+)`, "gm"))]
      .map((m) => ({ le: Number(m[1]), count: Number(m[2]) }))
      .sort((a, b) => a.le - b.le)
    const total = buckets[buckets.length - 1]?.count ?? 0
    const at = (q: number) => buckets.find((b) => b.count >= q * total)?.le ?? Number.NaN
    return `${name} p50 <= ${(at(0.5) * 1000).toFixed(1)} ms, p99 <= ${(at(0.99) * 1000).toFixed(1)} ms`
  }
  return ["inventory_reservation_seconds", "inventory_commit_seconds"].map(quantiles).join("; ")
}
