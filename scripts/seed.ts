// Seeds a few demo products (idempotent) so a local run has stock to reserve.
import pg from "pg"

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/inventory"
const products = [
  ["P1", 100, "A-01"],
  ["P2", 50, "A-02"],
  ["P3", 20, "B-01"],
  ["P4", 5, "B-02"],
  ["P5", 0, "C-01"],
] as const

const client = new pg.Client({ connectionString: url })
await client.connect()
for (const [id, quantity, location] of products) {
  const inserted = await client.query(
    `INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold, location)
     VALUES ($1, $2, 0, $2, 10, $3) ON CONFLICT (product_id, location_id) DO NOTHING`,
    [id, quantity, location],
  )
  if (inserted.rowCount === 1) {
    await client.query(
      `INSERT INTO stock_ledger (product_id, movement, quantity, available_before, available_after, reserved_before, reserved_after, reason)
       VALUES ($1, 'initial', $2, 0, $2, 0, 0, 'demo seed')`,
      [id, quantity],
    )
  }
}
await client.end()
console.log(`seeded demo products ${products.map(([id]) => id).join(", ")} (existing ones left as they are)`)
