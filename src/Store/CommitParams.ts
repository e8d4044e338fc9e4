import type { Topics } from "../Config.js"
import type { HeldLine } from "../Domain/Lifecycle.js"
import type { CommitBatch } from "./CommitBatch.js"

// The commit statement's parameters (CommitStatement.ts): the batch's intents as JSON documents.

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const stepKind = {
  Reserve: "reserve",
  Refuse: "refuse",
  CancelFirst: "cancel_first",
  Release: "release",
  Ship: "ship",
  RejectFulfilment: "reject",
  Extend: "extend",
  Fill: "fill",
} as const

/** The statement's parameters: every document is JSON (native and fast to build), positions `d`/`i` keep decision order. */
export const commitParams = (batch: CommitBatch, topics: Topics, at: string) => {
  const steps: Array<Record<string, unknown>> = []
  const items: Array<Record<string, unknown>> = []
  const changes: Array<Record<string, unknown>> = []
  const events: Array<Record<string, unknown>> = []
  const pushItems = (d: number, lines: ReadonlyArray<HeldLine>) => {
    lines.forEach((l, i) => {
      items.push(
        l.backordered
          ? { d, i, p: l.productId, lo: l.locationId, q: l.quantity, b: l.backordered }
          : { d, i, p: l.productId, lo: l.locationId, q: l.quantity },
      )
    })
  }
  batch.decisions.forEach((decision, d) => {
    const s = decision.step
    if (s !== undefined) {
      const row: Record<string, unknown> = { d, o: s.orderId, k: stepKind[s._tag] }
      switch (s._tag) {
        case "Reserve":
          row.rid = s.reservationId
          row.ex = iso(s.expiresAt)
          pushItems(d, s.lines)
          break
        case "Refuse":
          row.sp = s.productId
          row.ls = s.locations
          row.rq = s.requested
          break
        case "Release":
          if (s.reason === "expired") row.k = "expire"
          break
        case "Ship":
          row.fid = s.fulfillmentId
          row.to = s.to
          row.at = s.at
          if (s.items === undefined) row.k = "ship_all"
          else pushItems(d, s.items)
          break
        case "RejectFulfilment":
          row.fid = s.fulfillmentId
          row.rr = s.reason
          row.rp = s.productId ?? null
          row.rl = s.locationId ?? null
          row.rq = s.requested ?? null
          row.rh = s.held ?? null
          break
        case "Extend":
          row.ex = iso(s.expiresAt)
          break
        case "Fill":
          row.ex = iso(s.expiresAt)
          pushItems(d, s.lines)
          break
      }
      steps.push(row)
    }
    decision.changes.forEach((c, i) => {
      if (c._tag === "TransferOut" || c._tag === "TransferIn") {
        const out = c._tag === "TransferOut"
        const base = { d, i, p: c.productId, lo: c.locationId, q: out ? -c.quantity : c.quantity, rf: c.transferId }
        changes.push(
          out ? { ...base, m: "transfer_out", re: c.referenceId, tl: c.toLocationId } : { ...base, m: "transfer_in" },
        )
        return
      }
      changes.push(
        c._tag === "Initial"
          ? { d, i, p: c.productId, lo: c.locationId, q: c.quantity, m: "initial", re: "product created" }
          : c._tag === "Correct"
            ? { d, i, p: c.productId, lo: c.locationId, q: 0, m: "correct", re: c.reason }
            : {
                d,
                i,
                p: c.productId,
                lo: c.locationId,
                q: c.quantity,
                cnt: c.countedOnHand ?? null,
                eoh: c.expectedOnHand ?? null,
                m: "adjust",
                t: c.adjustmentType,
                re: c.reason,
                rf: c.referenceId,
              },
      )
    })
    decision.events.forEach((e, i) => {
      events.push({ d, i, id: e.eventId, t: e.eventType, tp: e.topic, k: e.key, p: e.payload })
    })
  })
  return [
    JSON.stringify(
      batch.products.map((p) => ({
        p: p.productId,
        lo: p.locationId,
        x: p.exists,
        c: p.create,
        t: p.threshold ?? null,
        sl: p.location !== undefined,
        l: p.location ?? null,
        ss: p.safetyStock ?? null,
        bl: p.backorderLimit ?? null,
      })),
    ),
    JSON.stringify(steps),
    JSON.stringify(items),
    JSON.stringify(changes),
    JSON.stringify(events),
    JSON.stringify(
      batch.decisions.flatMap((x) =>
        x.idempotency.map((r) => ({ k: r.key, h: r.requestHash, s: r.status, b: r.body })),
      ),
    ),
    JSON.stringify(batch.fences.map((f) => ({ g: f.group, pt: f.partition, e: f.epoch }))),
    JSON.stringify({
      at,
      released: topics.released,
      fulfilled: topics.fulfilled,
      low: topics.lowStock,
      oos: topics.outOfStock,
      adjusted: topics.adjusted,
      filled: topics.backorderFilled,
    }),
  ] as const
}
