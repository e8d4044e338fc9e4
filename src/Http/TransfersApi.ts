import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { TransferRecord } from "../Store/Records.js"
import { AdminAuth, admin } from "./AdminAuth.js"
import { IdempotencyHeader, ReceiveRequest, TransferRequest } from "./Bodies.js"
import {
  IdempotencyKeyReused,
  InsufficientStock,
  LocationNotFound,
  NotInTransit,
  ProductNotFound,
  TransferNotFound,
} from "./Errors.js"

const transferPath = Schema.Struct({ transfer_id: Schema.UUID })

export class TransfersGroup extends HttpApiGroup.make("transfers")
  .annotate(OpenApi.Description, "Stock moving between locations. Public.")
  .add(
    HttpApiEndpoint.get("get", "/transfers/:transfer_id")
      .annotateContext(
        OpenApi.annotations({
          summary: "One transfer",
          description: "What was sent, what arrived, what is still in transit. 404 TransferNotFound. Public.",
        }),
      )
      .setPath(transferPath)
      .addSuccess(TransferRecord)
      .addError(TransferNotFound),
  ) {}

export class TransfersAdminGroup extends HttpApiGroup.make("transfersAdmin")
  .annotate(OpenApi.Description, "Sending and receiving stock between locations.")
  .add(
    HttpApiEndpoint.post("send", "/transfers")
      .annotateContext(
        OpenApi.annotations({
          summary: "Send units from one location to another",
          description: admin(
            "`{product_id, from_location_id, to_location_id, quantity, reference_id?}`: the units leave the source's available and on hand at once and are in transit until received (ledger `transfer_out`, event `inventory.transferred` with status `in_transit`). 409 InsufficientStock if they are not available there; 404 LocationNotFound or ProductNotFound (not kept at the source); 400 for the same location twice. An Idempotency-Key makes a retry harmless.",
          ),
        }),
      )
      .setHeaders(IdempotencyHeader)
      .setPayload(TransferRequest)
      .addSuccess(TransferRecord, { status: 201 })
      .addError(InsufficientStock)
      .addError(LocationNotFound)
      .addError(ProductNotFound)
      .addError(IdempotencyKeyReused),
  )
  .add(
    HttpApiEndpoint.post("receive", "/transfers/:transfer_id/receive")
      .annotateContext(
        OpenApi.annotations({
          summary: "Receive a transfer's units at its destination",
          description: admin(
            "`{quantity?}` (default: all still in transit) are added at the destination (ledger `transfer_in`, event `inventory.transferred` with status `received`); the product's stock there starts if it was not kept there. 409 NotInTransit for more than is still on its way; 404 TransferNotFound.",
          ),
        }),
      )
      .setPath(transferPath)
      .setPayload(ReceiveRequest)
      .addSuccess(TransferRecord)
      .addError(TransferNotFound)
      .addError(NotInTransit),
  )
  .middleware(AdminAuth) {}
