import { writeFileSync } from "node:fs"
import { OpenApi } from "@effect/platform"
import { InventoryApi } from "../src/Http/Api.js"

// Writes the service's OpenAPI document (what GET /openapi.json serves) to the path given, or prints it.
const document = JSON.stringify(OpenApi.fromApi(InventoryApi), null, 2)
const path = process.argv[2]
if (path === undefined) console.log(document)
else writeFileSync(path, document)
