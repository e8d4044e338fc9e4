import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"

export const Health = Schema.Struct({ status: Schema.Literal("ok") })

export class HealthGroup extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("health", "/health").addSuccess(Health),
) {}

export class InventoryApi extends HttpApi.make("inventory")
  .add(HealthGroup)
  .annotate(OpenApi.Title, "Inventory service") {}
