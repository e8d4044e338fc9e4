// Every PostgreSQL advisory lock the service takes, in one place, so no two can collide.

/** Held by the one instance applying migrations. */
export const migrationLockKey = 7_246_301_015

/** Held (for a transaction) by the one instance relaying the outbox. */
export const relayLockKey = 0x1f_4e_27_01

/** Held by the one instance sweeping due reservations. */
export const expirySweepLockKey = 7_246_301_016

/** Held by the one instance filling backorders. */
export const backorderFillLockKey = 7_246_301_017
