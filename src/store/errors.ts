/** Errors a Store rejects `commit()` (or refuses to open) with; the core logs them and answers with negative acks. */

/** The database reached `maxDatabaseBytes`: new queued deliveries are refused until space is freed. */
export class StoreFullError extends Error {
  override readonly name = "StoreFullError";
}

/** A group commit failed (disk full, read-only, corrupt file...); `cause` holds the driver's error. */
export class StoreWriteError extends Error {
  override readonly name = "StoreWriteError";
}

/** The database was written by a newer Gannet: it has migrations this build does not know. Never modified. */
export class DatabaseTooNewError extends Error {
  override readonly name = "DatabaseTooNewError";
  constructor(
    readonly location: string,
    readonly unknownMigrations: readonly string[],
    readonly knownMigrations: readonly string[],
  ) {
    const newest = knownMigrations.at(-1);
    super(
      `database ${location} has migration${unknownMigrations.length > 1 ? "s" : ""} ${unknownMigrations.join(", ")} ` +
        `applied, which this build of Gannet does not know (it knows ${knownMigrations.join(", ") || "none"}): ` +
        `it was written by a newer version. Refusing to open it; the file was not modified. ` +
        `Run the newer Gannet, or go back to the copy the newer one made before it migrated: stop Gannet, ` +
        `move ${newest ? backupName(location, newest) : `${location}.<schema>.bak`} over ${location}, delete ` +
        `${location}-wal and ${location}-shm (what changed since the upgrade is lost), then start this version.`,
    );
  }
}

/**
 * The copy made before migrating a database whose newest migration is `schema`; `attempt` > 1
 * when that name is taken (an earlier upgrade attempt made one).
 */
export function backupName(location: string, schema: string, attempt = 1): string {
  return attempt === 1 ? `${location}.${schema}.bak` : `${location}.${schema}.${attempt}.bak`;
}
