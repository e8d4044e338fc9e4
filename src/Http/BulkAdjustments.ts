import { Effect, Either, Option, ParseResult, Schema } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import { DefaultLocation, stockKey } from "../Domain/Lifecycle.js"
import type { Engine } from "../Engine/Engine.js"
import type { Adjustment, BulkSnapshot } from "../Engine/StockWrites.js"
import type { InventoryQueries } from "../Store/InventoryQueries.js"
import { AdjustmentType, BulkLine, type BulkRequest, BulkResult, MaxBulkLines } from "./Bodies.js"
import { BulkInvalid, BulkRefused } from "./Errors.js"
import { requestHash, storedAnswer, withKeyLock } from "./Idempotency.js"

// POST /inventory/adjustments: many adjustments at once, as JSON or CSV, all or nothing.

type Line = typeof BulkLine.Type
type Result = typeof BulkResult.Type

const csvColumns = [
  "product_id",
  "quantity",
  "adjustment_type",
  "reason",
  "reference_id",
  "counted_on_hand",
  "expected_on_hand",
  "location_id",
]
const required = ["product_id", "adjustment_type"]
const numeric = new Set(["quantity", "counted_on_hand", "expected_on_hand"])

/** RFC 4180 fields of one record: commas inside double quotes, "" for a quote. */
const fields = (record: string): Array<string> => {
  const out: Array<string> = []
  let field = ""
  let quoted = false
  for (let i = 0; i < record.length; i++) {
    const c = record[i]!
    if (quoted) {
      if (c === '"' && record[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"' && field === "") quoted = true
    else if (c === ",") {
      out.push(field)
      field = ""
    } else field += c
  }
  out.push(field)
  return out
}

const decodeLine = Schema.decodeUnknownEither(BulkLine, { errors: "all" })

/**
 * Parses a CSV body: a header naming the columns (`product_id,quantity,adjustment_type,reason`;
 * `reference_id`, `counted_on_hand` and `expected_on_hand` may follow), then one line per
 * adjustment. Every bad line is reported with its line number and column.
 */
const parseCsv = (text: string): Either.Either<Array<Line>, BulkInvalid> => {
  const records = text.replace(/\r\n?/g, "\n").split("\n")
  while (records.length > 0 && records[records.length - 1]!.trim() === "") records.pop()
  const invalid = (errors: Array<{ line: number; column: string; message: string }>) =>
    Either.left(new BulkInvalid({ message: `${errors.length} invalid line(s); nothing applied`, errors }))
  const header = fields(records[0] ?? "").map((h) => h.trim())
  const unknown = header.filter((h) => !csvColumns.includes(h))
  const missing = required.filter((h) => !header.includes(h))
  if (unknown.length > 0 || missing.length > 0 || header.length === 0)
    return invalid([
      {
        line: 1,
        column: unknown[0] ?? missing[0] ?? "",
        message: `the header must name the columns ${csvColumns.slice(0, 4).join(",")} (optional: ${csvColumns.slice(4).join(", ")})${unknown.length > 0 ? `; unknown: ${unknown.join(", ")}` : ""}${missing.length > 0 ? `; missing: ${missing.join(", ")}` : ""}`,
      },
    ])
  if (records.length - 1 > MaxBulkLines)
    return invalid([{ line: MaxBulkLines + 2, column: "", message: `more than ${MaxBulkLines} lines` }])
  if (records.length < 2) return invalid([{ line: 2, column: "", message: "no lines after the header" }])
  const errors: Array<{ line: number; column: string; message: string }> = []
  const lines: Array<Line> = []
  for (let i = 1; i < records.length; i++) {
    const values = fields(records[i]!)
    if (values.length !== header.length) {
      errors.push({ line: i + 1, column: "", message: `${values.length} fields, the header has ${header.length}` })
      continue
    }
    const raw: Record<string, unknown> = {}
    const before = errors.length
    for (const [c, name] of header.entries()) {
      const value = values[c]!.trim()
      if (value === "") continue
      if (numeric.has(name)) {
        const n = Number(value)
        if (!/^[+-]?\d+$/.test(value)) {
          errors.push({ line: i + 1, column: name, message: `not a whole number: ${JSON.stringify(value)}` })
          continue
        }
        raw[name] = n
      } else raw[name] = value
    }
    if (errors.length > before) continue // a cell was unreadable: that says enough about the line
    const type = raw.adjustment_type
    if (typeof type === "string" && !(AdjustmentType.literals as ReadonlyArray<string>).includes(type)) {
      errors.push({
        line: i + 1,
        column: "adjustment_type",
        message: `unknown adjustment type ${JSON.stringify(type)}: one of ${AdjustmentType.literals.join(", ")}`,
      })
      continue
    }
    const decoded = decodeLine(raw)
    if (Either.isRight(decoded)) lines.push(decoded.right)
    else {
      // one error per column of the line: the first thing wrong with it
      const seen = new Set<string>()
      for (const issue of ParseResult.ArrayFormatter.formatErrorSync(decoded.left)) {
        const column = String(issue.path[0] ?? "")
        if (seen.has(column)) continue
        seen.add(column)
        errors.push({ line: i + 1, column, message: issue.message })
      }
    }
  }
  return errors.length > 0 ? invalid(errors) : Either.right(lines)
}

const toAdjustment = (line: Line): Adjustment => ({
  productId: line.product_id as ProductId,
  locationId: line.location_id ?? DefaultLocation,
  quantity: line.counted_on_hand !== undefined ? { countedOnHand: line.counted_on_hand } : line.quantity!,
  expectedOnHand: line.expected_on_hand,
  adjustmentType: line.adjustment_type,
  reason: line.reason,
  referenceId: line.reference_id,
})

const why = (error: {
  readonly _tag: string
  readonly requested?: number
  readonly available?: number
  readonly onHand?: number
  readonly expected?: number
}) =>
  error._tag === "UnknownProduct"
    ? "unknown product"
    : error._tag === "StockMoved"
      ? `on hand is ${error.onHand}, not the expected ${error.expected}`
      : `cannot remove ${error.requested}: only ${error.available} available`

/** What the request would do on the stock as committed now, line by line; the refusals it would meet. */
const dryRun = (queries: InventoryQueries, lines: ReadonlyArray<Line>, lineNumber: (i: number) => number) =>
  Effect.gen(function* () {
    const levels = new Map<string, { available: number; reserved: number; on_hand: number } | undefined>()
    const items: Array<Result["items"][number]> = []
    const failures: Array<{ line: number; product_id: string; reason: string }> = []
    for (const [i, line] of lines.entries()) {
      const locationId = line.location_id ?? DefaultLocation
      const key = stockKey(line.product_id, locationId)
      if (!levels.has(key)) levels.set(key, Option.getOrUndefined(yield* queries.stock(line.product_id, locationId)))
      const before = levels.get(key)
      const fail = (reason: string) => failures.push({ line: lineNumber(i), product_id: line.product_id, reason })
      if (before === undefined) {
        fail(line.location_id === undefined ? "unknown product" : `not kept at location ${JSON.stringify(locationId)}`)
        continue
      }
      if (line.expected_on_hand !== undefined && line.expected_on_hand !== before.on_hand) {
        fail(`on hand is ${before.on_hand}, not the expected ${line.expected_on_hand}`)
        continue
      }
      const quantity = line.counted_on_hand !== undefined ? line.counted_on_hand - before.on_hand : line.quantity!
      if (before.available + quantity < 0) {
        fail(`cannot remove ${-quantity}: only ${before.available} available`)
        continue
      }
      const after = {
        available: before.available + quantity,
        reserved: before.reserved,
        on_hand: before.on_hand + quantity,
      }
      levels.set(key, after)
      items.push({
        line: lineNumber(i),
        product_id: line.product_id,
        location_id: locationId,
        adjustment_type: line.adjustment_type,
        quantity,
        before,
        after,
      })
    }
    return { items, failures }
  })

const refused = (failures: ReadonlyArray<{ line: number; product_id: string; reason: string }>) =>
  new BulkRefused({ message: `${failures.length} line(s) cannot be applied; nothing applied`, failures })

const decodeStored = Schema.decodeUnknownSync(Schema.parseJson(BulkResult))

export const bulkAdjust =
  (engine: Engine, queries: InventoryQueries) =>
  (request: {
    readonly payload: typeof BulkRequest.Type | string
    readonly urlParams: { readonly dry_run?: boolean | undefined }
    readonly headers: { readonly "idempotency-key"?: string | undefined }
  }) =>
    Effect.gen(function* () {
      const csv = typeof request.payload === "string"
      const parsed = csv ? parseCsv(request.payload as string) : Either.right(request.payload.items)
      if (Either.isLeft(parsed)) return yield* parsed.left
      const lines = parsed.right
      const lineNumber = (i: number) => (csv ? i + 2 : i + 1)
      const dry = csv ? request.urlParams.dry_run === true : (request.payload as { dry_run?: boolean }).dry_run === true
      if (dry) {
        const plan = yield* dryRun(queries, lines, lineNumber)
        if (plan.failures.length > 0) return yield* refused(plan.failures)
        return { dry_run: true, items: plan.items } satisfies Result
      }
      const key = request.headers["idempotency-key"]
      const hash = requestHash(["bulk", lines])
      const render = (afters: ReadonlyArray<BulkSnapshot>): Result => ({
        dry_run: false,
        items: afters.map((a, i) => ({
          line: lineNumber(i),
          product_id: lines[i]!.product_id,
          location_id: a.locationId,
          adjustment_type: lines[i]!.adjustment_type,
          quantity: a.quantity,
          before: { available: a.before.available, reserved: a.before.reserved, on_hand: a.before.onHand },
          after: { available: a.available, reserved: a.reserved, on_hand: a.onHand },
        })),
      })
      const apply = Effect.gen(function* () {
        if (key !== undefined) {
          const previous = yield* storedAnswer(queries, key, hash, decodeStored)
          if (Option.isSome(previous)) return previous.value
        }
        const afters = yield* engine.adjustMany(
          lines.map(toAdjustment),
          key === undefined
            ? undefined
            : {
                row: (all) => ({ key, requestHash: hash, status: 200, body: JSON.stringify(render(all)) }),
                alreadyDone: queries.idempotentAnswer(key).pipe(Effect.map(Option.isSome)),
              },
        )
        yield* Effect.logInfo("bulk adjustment applied").pipe(Effect.annotateLogs({ lines: lines.length }))
        return render(afters)
      })
      return yield* withKeyLock(key, apply).pipe(
        Effect.catchTags({
          BulkRefused: (e) =>
            Effect.fail(
              refused(
                e.lines.map((l) => ({
                  line: lineNumber(l.index),
                  product_id: lines[l.index]!.product_id,
                  reason: why(l.error),
                })),
              ),
            ),
          AlreadyApplied: () =>
            Effect.flatMap(storedAnswer(queries, key!, hash, decodeStored), (answer) =>
              Option.isSome(answer) ? Effect.succeed(answer.value) : Effect.die("stored answer vanished"),
            ),
        }),
      )
    })
