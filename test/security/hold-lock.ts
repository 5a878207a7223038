/**
 * Holds the write lock of a SQLite file for a while, as another process (the CLI, or a broker
 * committing) would: `bun test/security/hold-lock.ts FILE MS` prints "locked" once it has the lock,
 * inserts a ban inside the transaction, and commits after MS milliseconds.
 */
import { Database } from "bun:sqlite";

const [file, ms] = Bun.argv.slice(2);
const db = new Database(file!);
db.run("BEGIN IMMEDIATE");
db.run(
  "INSERT INTO bans (kind, value, reason, created_at, expires_at) VALUES ('clientId', 'from-lock-holder', 'x', 1, NULL)",
);
console.log("locked");
await Bun.sleep(Number(ms));
db.run("COMMIT");
db.close();
