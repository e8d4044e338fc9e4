import { Effect } from "effect"

/**
 * An HTTP client for a service on `port`: a JSON body in (a string goes as it is, with the content
 * type the headers give), the status and the parsed JSON (or the text) out; with `token`, every
 * request carries it as a bearer token.
 */
export const httpClient =
  (port: number, token?: string) =>
  (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    Effect.promise(async () => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: {
          "content-type": "application/json",
          ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      })
      const text = await response.text()
      // biome-ignore lint/suspicious/noExplicitAny: response bodies are inspected field by field
      let json: any
      try {
        json = JSON.parse(text)
      } catch {
        json = text
      }
      return { status: response.status, json, text, contentType: response.headers.get("content-type") ?? "" }
    })
