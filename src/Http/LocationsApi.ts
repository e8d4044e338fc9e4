import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { OpaqueText } from "../Domain/Ids.js"
import { LocationRecord } from "../Store/Records.js"
import { AdminAuth, admin } from "./AdminAuth.js"
import { LocationDefinition } from "./Bodies.js"
import { LocationNotFound } from "./Errors.js"

const locationPath = Schema.Struct({ location_id: OpaqueText })

export class LocationsGroup extends HttpApiGroup.make("locations")
  .annotate(OpenApi.Description, "The places stock is kept, and how orders are routed to them. Public.")
  .add(
    HttpApiEndpoint.get("list", "/locations")
      .annotateContext(
        OpenApi.annotations({
          summary: "Every location",
          description: "Best priority (lowest) first, then by id; `default` always exists. Public.",
        }),
      )
      .addSuccess(Schema.Array(LocationRecord)),
  )
  .add(
    HttpApiEndpoint.get("get", "/locations/:location_id")
      .annotateContext(OpenApi.annotations({ summary: "One location", description: "404 LocationNotFound. Public." }))
      .setPath(locationPath)
      .addSuccess(LocationRecord)
      .addError(LocationNotFound),
  ) {}

export class LocationsAdminGroup extends HttpApiGroup.make("locationsAdmin")
  .annotate(OpenApi.Description, "Defining locations.")
  .add(
    HttpApiEndpoint.put("put", "/locations/:location_id")
      .annotateContext(
        OpenApi.annotations({
          summary: "Create or change a location",
          description: admin(
            "`{name?, priority?, channels?, active?}`: a new location takes its id as name, priority 100, every channel, active; a field left out keeps its value. `channels` are the sales channels it serves (empty: every channel). 400 names a field that is unknown or out of range. Answers the location with `created`.",
          ),
        }),
      )
      .setPath(locationPath)
      .setPayload(LocationDefinition)
      .addSuccess(Schema.Struct({ ...LocationRecord.fields, created: Schema.Boolean })),
  )
  .middleware(AdminAuth) {}
