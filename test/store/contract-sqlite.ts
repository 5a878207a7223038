/** The SQLite-only part of the store contract: migrations, disk errors, the size bound. */
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { migrations } from "../../src/store/sqlite/migrations.ts";
import type { Store } from "../../src/store/types.ts";
import { delivery, message, rejection, session, type SqliteHooks, type StoreTarget, withDir } from "./fixtures.ts";

export function sqliteContract(target: StoreTarget, sqlite: SqliteHooks): void {
  test("a database with a migration this build does not know is refused, byte for byte untouched", () =>
    withDir(async (dir) => {
      const store = await target.open(dir);
      store.saveSession(session("keep"));
      await store.close();
      await sqlite.query(dir, "INSERT INTO gannet_migrations (id, applied_at) VALUES ('9999_from_the_future', 1)");
      const file = sqlite.file(dir);
      const before = readFileSync(file);
      const error = await rejection(target.open(dir));
      assert.equal(error.name, "DatabaseTooNewError");
      assert.match(error.message, /9999_from_the_future/);
      assert.match(error.message, /0000_initial/);
      assert.ok(error.message.includes(file), `names the file: ${error.message}`);
      assert.ok(before.equals(readFileSync(file)), "file bytes unchanged");
    }));

  const older = migrations.slice(0, -1);
  const olderSchema = older.at(-1)!.id;

  test("before migrating, a copy next to the database named after its schema; rolling back as the refusal says works", () =>
    withDir(async (dir) => {
      const file = sqlite.file(dir);
      const old = await target.open(dir, { migrations: older });
      assert.equal(old.migration, undefined, "a new database is not backed up");
      old.saveSession(session("before-upgrade"));
      await old.close();

      const upgraded = await target.open(dir);
      const backup = `${file}.${olderSchema}.bak`;
      assert.deepEqual(upgraded.migration, { from: olderSchema, applied: [migrations.at(-1)!.id], backup });
      upgraded.saveSession(session("after-upgrade"));
      await upgraded.close();
      assert.deepEqual((await sqlite.query(dir, "SELECT id FROM gannet_migrations ORDER BY id")).map((r) => r.id), migrations.map((m) => m.id));

      // The older build refuses the migrated file and says how to go back; doing so works.
      const refused = await rejection(target.open(dir, { migrations: older }));
      assert.ok(refused.message.includes(`move ${backup} over ${file}, delete ${file}-wal and ${file}-shm`), refused.message);
      renameSync(backup, file);
      rmSync(`${file}-wal`, { force: true });
      rmSync(`${file}-shm`, { force: true });
      const rolledBack = await target.open(dir, { migrations: older });
      assert.deepEqual((await rolledBack.load()).sessions.map((s) => s.clientId), ["before-upgrade"]);
      await rolledBack.close();

      // Upgrading again while an older copy of that schema exists: the next number, nothing overwritten.
      writeFileSync(backup, "an earlier copy");
      const again = await target.open(dir);
      assert.equal(again.migration?.backup, `${file}.${olderSchema}.2.bak`);
      assert.ok(existsSync(`${file}.${olderSchema}.2.bak`));
      assert.equal(readFileSync(backup, "utf8"), "an earlier copy");
      await again.close();
    }));

  test("disk full: the commit rejects with the driver's error as cause; the store carries on", () =>
    withDir(async (dir) => {
      const store = await target.open(dir, { maxPageCount: 40 });
      store.saveSession(session("disk"));
      await store.commit();
      let id = 0;
      let error: Error | undefined;
      while (!error && id < 100) {
        store.saveDelivery("disk", delivery(++id, message({ payload: new Uint8Array(8192) })));
        error = await store.commit().then(() => undefined, (e: Error) => e);
      }
      assert.equal(error?.name, "StoreWriteError");
      assert.ok(error.cause instanceof Error);
      assert.match(`${error.message} ${error.cause.message}`, /full/i);
      for (let i = 1; i < id; i++) store.deleteDelivery("disk", i);
      await store.commit();
      store.saveDelivery("disk", delivery(++id));
      await store.commit();
      await store.close();
      const reopened = await target.open(dir);
      assert.deepEqual((await reopened.load()).sessions[0]!.deliveries.map((d) => d.id), [id]);
      await reopened.close();
    }));

  test("past maxDatabaseBytes new deliveries are refused with StoreFullError; updates and deletes go through", () =>
    withDir(async (dir) => {
      const options = { maxDatabaseBytes: 128 * 1024 };
      const store = await target.open(dir, options) as Store & { readonly full: boolean };
      assert.equal(store.full, false);
      store.saveSession(session("big"));
      let id = 0;
      let error: Error | undefined;
      while (!error && id < 100) {
        store.saveDelivery("big", delivery(++id, message({ payload: new Uint8Array(8192) })));
        error = await store.commit().then(() => undefined, (e: Error) => e);
      }
      assert.equal(error?.name, "StoreFullError");
      assert.ok(store.full);
      const stored = id - 1;
      store.saveDelivery("big", delivery(1, message(), { packetId: 1, state: "awaitingAck" }));
      store.saveSession(session("big", 7));
      await store.commit();
      for (let i = 1; i <= stored; i++) store.deleteDelivery("big", i);
      await store.commit();
      assert.equal(store.full, false, "deletes free the space");
      store.saveDelivery("big", delivery(++id));
      await store.commit();
      await store.close();
      const reopened = await target.open(dir, options);
      assert.deepEqual((await reopened.load()).sessions[0]!.deliveries.map((d) => d.id), [id]);
      await reopened.close();
    }));
}
