import { Either } from "effect"

// Where an order is served from, as plain data and functions: the candidates for its channel, and
// how its lines are allocated over them (the contract: design.md, "Stock locations and backorders").

export type AllocationStrategy = "single_first" | "priority"

export interface Location {
  readonly id: string
  /** lower first */
  readonly priority: number
  /** the sales channels it serves; empty: every channel */
  readonly channels: ReadonlyArray<string>
  readonly active: boolean
}

/**
 * The active locations that serve `channel`, best priority first (ties by id). An order without a
 * channel may be served by every active location.
 */
export const candidatesFor = (locations: ReadonlyArray<Location>, channel: string | undefined): Array<Location> =>
  locations
    .filter((l) => l.active && (channel === undefined || l.channels.length === 0 || l.channels.includes(channel)))
    .sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

/** What a product can give at a location now: units it may sell, and backorders it may still promise. */
export interface Supply {
  /** available beyond safety stock (never negative) */
  readonly sellable: number
  /** backorder_limit − backordered (never negative) */
  readonly backorderRoom: number
}

/** The supply of `productId` at `locationId`; none (a location that does not stock it) gives nothing. */
export type SupplyOf = (productId: string, locationId: string) => Supply | undefined

/** One line to allocate: a product and a quantity, pinned to a location or not. */
export interface LineRequest {
  readonly productId: string
  readonly quantity: number
  readonly pinned?: string | undefined
}

/** Part of a line served at one location: `quantity` units, of which `backordered` are promised, not reserved. */
export interface Allocation {
  readonly locationId: string
  readonly quantity: number
  readonly backordered: number
}

export interface AllocatedLine extends LineRequest {
  /** in the order they are served (and shipped) from; their quantities add up to the line's */
  readonly allocations: ReadonlyArray<Allocation>
}

/** The order cannot be served as a whole: the first line (in the order given) left short. */
export interface AllocationShort {
  readonly productId: string
  readonly requested: number
  /** sellable units over the line's candidates (its pin, if pinned) */
  readonly available: number
  /** the line named a location that is not among the order's candidates */
  readonly unknownLocation?: string | undefined
}

/**
 * Allocates every line or none. Units are reserved before any is backordered: first the sellable units
 * by the strategy, then what is still missing is backordered, at the line's locations in priority order,
 * within each one's room.
 * - `single_first`: the best location that can sell every unpinned line in full; if none can, each
 *   line from the best location that can sell it in full, else split over the candidates in priority order.
 * - `priority`: each line from the candidates in priority order, split where one runs short.
 * A pinned line is served only at its pin, which must be one of the candidates.
 */
export const allocate = (
  lines: ReadonlyArray<LineRequest>,
  candidates: ReadonlyArray<Location>,
  supplyOf: SupplyOf,
  strategy: AllocationStrategy,
): Either.Either<Array<AllocatedLine>, AllocationShort> => {
  // what is left per product and location as the lines take from it
  const sellable = new Map<string, number>()
  const room = new Map<string, number>()
  const key = (productId: string, locationId: string) => `${locationId}\u0000${productId}`
  const left = (store: Map<string, number>, field: keyof Supply, productId: string, locationId: string) => {
    const k = key(productId, locationId)
    const seen = store.get(k)
    if (seen !== undefined) return seen
    const fresh = Math.max(0, supplyOf(productId, locationId)?.[field] ?? 0)
    store.set(k, fresh)
    return fresh
  }
  const take = (
    store: Map<string, number>,
    field: keyof Supply,
    productId: string,
    locationId: string,
    want: number,
  ) => {
    const has = left(store, field, productId, locationId)
    const got = Math.min(want, has)
    store.set(key(productId, locationId), has - got)
    return got
  }

  const ids = candidates.map((c) => c.id)
  const locationsOf = (line: LineRequest) => (line.pinned === undefined ? ids : [line.pinned])
  const unknown = lines.find((l) => l.pinned !== undefined && !ids.includes(l.pinned))
  if (unknown !== undefined) {
    return Either.left({
      productId: unknown.productId,
      requested: unknown.quantity,
      available: 0,
      unknownLocation: unknown.pinned,
    })
  }

  const canSell = (line: LineRequest, locationId: string) =>
    left(sellable, "sellable", line.productId, locationId) >= line.quantity
  const reserved = lines.map(() => new Map<string, number>())
  const reserveAt = (i: number, locationId: string, want: number) => {
    const got = take(sellable, "sellable", lines[i]!.productId, locationId, want)
    if (got > 0) reserved[i]!.set(locationId, (reserved[i]!.get(locationId) ?? 0) + got)
    return got
  }
  const split = (i: number) => {
    let missing = lines[i]!.quantity
    for (const locationId of locationsOf(lines[i]!)) {
      if (missing === 0) break
      missing -= reserveAt(i, locationId, missing)
    }
    return missing
  }

  const missing = lines.map(() => 0)
  const unpinned = lines.flatMap((l, i) => (l.pinned === undefined ? [i] : []))
  lines.forEach((line, i) => {
    if (line.pinned !== undefined) missing[i] = split(i)
  })
  // single_first: the best location that can sell every unpinned line (one product's lines add up)
  const wanted = new Map<string, number>()
  for (const i of unpinned) wanted.set(lines[i]!.productId, (wanted.get(lines[i]!.productId) ?? 0) + lines[i]!.quantity)
  const single =
    strategy === "single_first"
      ? ids.find((id) => [...wanted].every(([productId, quantity]) => canSell({ productId, quantity }, id)))
      : undefined
  for (const i of unpinned) {
    if (single !== undefined) missing[i] = lines[i]!.quantity - reserveAt(i, single, lines[i]!.quantity)
    else if (strategy === "single_first") {
      const whole = ids.find((id) => canSell(lines[i]!, id))
      missing[i] = whole !== undefined ? lines[i]!.quantity - reserveAt(i, whole, lines[i]!.quantity) : split(i)
    } else missing[i] = split(i)
  }

  // then backorders: pinned lines first (they have one place to go), within each location's room
  const backordered = lines.map(() => new Map<string, number>())
  const order = [...lines.keys()].sort(
    (a, b) => Number(lines[a]!.pinned === undefined) - Number(lines[b]!.pinned === undefined),
  )
  for (const i of order) {
    const line = lines[i]!
    for (const locationId of locationsOf(line)) {
      if (missing[i] === 0) break
      const got = take(room, "backorderRoom", line.productId, locationId, missing[i]!)
      if (got > 0) backordered[i]!.set(locationId, got)
      missing[i]! -= got
    }
  }
  const short = lines.findIndex((_, i) => missing[i]! > 0)
  if (short >= 0) {
    const line = lines[short]!
    const available = locationsOf(line).reduce(
      (sum, id) => sum + Math.max(0, supplyOf(line.productId, id)?.sellable ?? 0),
      0,
    )
    return Either.left({ productId: line.productId, requested: line.quantity, available })
  }
  const allocated = lines.map(
    (line, i): AllocatedLine => ({
      ...line,
      allocations: locationsOf(line).flatMap((locationId) => {
        const r = reserved[i]!.get(locationId) ?? 0
        const b = backordered[i]!.get(locationId) ?? 0
        return r + b > 0 ? [{ locationId, quantity: r + b, backordered: b }] : []
      }),
    }),
  )
  return Either.right(allocated)
}

/** Where each line is to be served from, in the order to take from; or a pin that cannot be served. */
export type ServingOrder = Either.Either<Array<ReadonlyArray<string>>, AllocationShort & { unknownLocation: string }>

/**
 * The order in which each line's locations are to be taken from: the allocation of the stock as seen
 * now first, then the line's other candidates by priority (so that a line whose first choice ran
 * short meanwhile still splits as the strategy would); a pinned line only at its pin. The product's
 * actor takes the line in that order, all of it or nothing, and is the one that decides.
 */
export const servingOrder = (
  lines: ReadonlyArray<LineRequest>,
  candidates: ReadonlyArray<Location>,
  supplyOf: SupplyOf,
  strategy: AllocationStrategy,
): ServingOrder => {
  const ids = candidates.map((c) => c.id)
  const planned = allocate(lines, candidates, supplyOf, strategy)
  if (Either.isLeft(planned)) {
    const { unknownLocation } = planned.left
    if (unknownLocation !== undefined) return Either.left({ ...planned.left, unknownLocation })
  }
  return Either.right(
    lines.map((line, i) => {
      if (line.pinned !== undefined) return [line.pinned]
      if (Either.isLeft(planned)) return ids
      const first = planned.right[i]!.allocations.map((a) => a.locationId)
      return first.length === ids.length ? first : [...first, ...ids.filter((id) => !first.includes(id))]
    }),
  )
}

/** An order's items as lines to allocate: one per product and pin, summed, in the order each first appears. */
export const requestsOf = <P extends string>(
  items: ReadonlyArray<{
    readonly product_id: P
    readonly quantity: number
    readonly location_id?: string | undefined
  }>,
): Array<LineRequest & { readonly productId: P }> => {
  if (items.length === 1) {
    const [item] = items
    return [
      item!.location_id === undefined
        ? { productId: item!.product_id, quantity: item!.quantity }
        : { productId: item!.product_id, quantity: item!.quantity, pinned: item!.location_id },
    ]
  }
  const totals = new Map<string, { productId: P; quantity: number; pinned?: string | undefined }>()
  for (const item of items) {
    const k = item.location_id === undefined ? item.product_id : `${item.product_id}\u0000${item.location_id}`
    const line = totals.get(k)
    if (line !== undefined) line.quantity += item.quantity
    else
      totals.set(
        k,
        item.location_id === undefined
          ? { productId: item.product_id, quantity: item.quantity }
          : { productId: item.product_id, quantity: item.quantity, pinned: item.location_id },
      )
  }
  return [...totals.values()]
}
