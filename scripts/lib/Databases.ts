// Databases of a run's own beside an admin connection (tests, the bench): named, created, dropped.
import pg from "pg"

/** Runs `use` on a connection to `url`, closed afterwards. */
export const withClient = async <A>(url: string, use: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

/** The URL of database `name` on the server (and with the credentials) of `adminUrl`. */
export const databaseUrlFor = (adminUrl: string, name: string): string => {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

export const createDatabase = (adminUrl: string, name: string) =>
  withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)).then(() => undefined)

/** Drops it even while connections are open (theirs end); a database that is not there is fine. */
export const dropDatabase = (adminUrl: string, name: string) =>
  withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)).then(
    () => undefined,
  )
