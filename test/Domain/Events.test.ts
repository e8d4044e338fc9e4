import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { topicsWithSuffix } from "../../src/Config.js"
import { EventBodies } from "../../src/Domain/Events.js"
import { makeEvent } from "../../src/Store/Outbox.js"

// Outgoing events are built through constructors typed by the wire schemas: `npm run check`
// (tsc) fails if a field below stops being an error, and each body decodes with its schema.

const topics = topicsWithSuffix("events")

describe("outgoing events", () => {
  it("do not compile with a misspelt or missing field", () => {
    const body = { reservation_id: "r", order_id: "o", items: [], reserved_at: "2026-11-29T00:00:00.000Z" }
    // @ts-expect-error a misspelt field
    makeEvent(topics, "inventory.reserved", "o", { ...body, reservd_at: "x" })
    // @ts-expect-error a missing field
    makeEvent(topics, "inventory.out_of_stock", "o", {
      order_id: "o",
      product_id: "p",
      requested_qty: 2,
      timestamp: "t",
    })
    const event = makeEvent(topics, "inventory.reserved", "o", body)
    expect(Schema.decodeUnknownSync(EventBodies["inventory.reserved"])(JSON.parse(event.payload))).toEqual(body)
    expect(event).toMatchObject({ topic: topics.reserved, key: "o", eventType: "inventory.reserved" })
  })
})
