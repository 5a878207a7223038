/**
 * The SQLite-only part of the store contract: what only a database shows (rows collected, the SQL
 * a commit runs, durability across close), migrations, disk errors, the size bound. The SQLite
 * runners (sqlite-bun.test.ts, libsql.deno.ts) call it after contract.ts's storeContract.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { migrations } from "../../src/store/sqlite/migrations.ts";
import type { Store } from "../../src/store/types.ts";
import {
  delivery,
  message,
  rejection,
  richMessage,
  session,
  type SqliteTarget,
  subscription,
  withDir,
} from "./fixtures.ts";

export function sqliteContract(target: SqliteTarget): void {
  describe(`Store contract, SQLite part: ${target.name}`, () => sqliteTests(target));
}

function sqliteTests(target: SqliteTarget): void {
  const { sqlite } = target;
  /** A test on a fresh store; `run` returns the store to close. */
  const scenario = (name: string, run: (store: Store, dir: string) => Promise<Store>) =>
    test(name, () =>
      withDir(async (dir) => {
        const last = await run(await target.open(dir), dir);
        await last.close();
      }));
  const count = async (dir: string, table: string) => {
    const [row] = await sqlite.query(dir, `SELECT count(*) AS n FROM ${table}`);
    return Number(row?.n);
  };

  scenario("replaced and deleted will messages are collected", async (store, dir) => {
    store.saveSession(session("d"));
    store.saveSession(session("e"));
    store.saveWill("d", { message: message({ topic: "will/old" }), publishAt: 1 });
    store.saveWill("e", { message: message({ topic: "will/e" }), publishAt: 5 });
    await store.commit();
    store.saveWill("d", { message: richMessage(), publishAt: 2, messageExpiryInterval: 30 });
    store.deleteWill("e");
    await store.commit();
    assert.equal(await count(dir, "messages"), 1);
    return store;
  });

  scenario("replaced and deleted retained messages are collected", async (store, dir) => {
    for (const topic of ["r/1", "r/2", "r/3"]) store.saveRetained(message({ topic, retain: true }));
    await store.commit();
    store.saveRetained({ ...richMessage(), topic: "r/1" });
    store.deleteRetained("r/2");
    await store.commit();
    assert.equal(await count(dir, "messages"), 2);
    return store;
  });

  scenario("deleteSession deletes its rows in every table; its messages go with their last reference", async (store, dir) => {
    const shared = message();
    for (const id of ["f", "g"]) {
      store.saveSession(session(id));
      store.saveSubscription(id, subscription("s"));
      store.saveAwaitingRelease(id, 9);
      store.saveWill(id, { message: message(), publishAt: 3 });
    }
    store.saveDelivery("f", delivery(1, shared));
    store.saveDelivery("g", delivery(2, shared));
    store.saveDelivery("f", delivery(3));
    await store.commit();
    store.deleteSession("f");
    await store.commit();
    for (const table of ["subscriptions", "deliveries", "awaiting_release", "wills"]) {
      assert.equal(await count(dir, table), 1, table);
    }
    assert.equal(await count(dir, "messages"), 2, "g's delivery message and will message remain");
    store.deleteSession("g");
    await store.commit();
    assert.equal(await count(dir, "messages"), 0, "every message collected");
    return store;
  });

  scenario("a message fanned out to many sessions is one row until its last reference goes", async (store, dir) => {
    const m = message({ retain: true, payload: new Uint8Array(10_000) });
    for (let i = 0; i < 50; i++) {
      store.saveSession(session(`fan${i}`));
      store.saveDelivery(`fan${i}`, delivery(100 + i, m));
    }
    store.saveRetained(m);
    await store.commit();
    assert.equal(await count(dir, "messages"), 1);
    store = await target.restart(store, dir);
    const { retained } = await store.load();
    // After a restart the loaded objects keep their row: new references do not copy the payload.
    store.saveSession(session("late"));
    store.saveDelivery("late", delivery(1000, retained[0]!));
    for (let i = 0; i < 50; i++) store.deleteDelivery(`fan${i}`, 100 + i);
    store.deleteRetained(m.topic);
    await store.commit();
    assert.equal(await count(dir, "messages"), 1);
    store.deleteDelivery("late", 1000);
    await store.commit();
    assert.equal(await count(dir, "messages"), 0);
    return store;
  });

  scenario("group commit: many writes and commit calls, one transaction", async (store) => {
    const before = sqlite.transactions.length;
    store.saveSession(session("gc"));
    const commits: Array<Promise<void>> = [];
    for (let i = 1; i <= 1000; i++) {
      store.saveDelivery("gc", delivery(i));
      if (i % 100 === 0) commits.push(store.commit());
    }
    await Promise.all(commits);
    assert.equal(sqlite.transactions.length - before, 1, "one transaction for the whole batch");
    return store;
  });

  scenario("coalescing: a row saved then deleted in one batch is never written; one write for the last save", async (store) => {
    store.saveSession(session("co"));
    store.saveDelivery("co", delivery(1));
    await store.commit();
    const before = sqlite.transactions.length;
    const m = message();
    store.saveDelivery("co", delivery(2, m));
    store.saveDelivery("co", delivery(2, m, { packetId: 1, state: "awaitingAck" }));
    store.saveDelivery("co", delivery(2, m, { packetId: 1, state: "awaitingComp", qos: 2 }));
    store.saveDelivery("co", delivery(3));
    store.deleteDelivery("co", 3);
    await store.commit();
    const written = sqlite.transactions.slice(before).flat();
    assert.equal(written.filter((sql) => /^INSERT INTO deliveries/.test(sql)).length, 1, "one row write for id 2");
    assert.equal(written.filter((sql) => /^DELETE FROM deliveries/.test(sql)).length, 0, "id 3 never written");
    assert.equal(written.filter((sql) => /INTO messages/.test(sql)).length, 1, "id 3's message never written");
    return store;
  });

  test("expired deliveries are deleted at load, not only skipped", () =>
    withDir(async (dir) => {
      let now = 1_000;
      const options = { now: () => now };
      let store = await target.open(dir, options);
      store.saveSession(session("x"));
      store.saveDelivery("x", delivery(1, message({ expiresAt: 2_000 })));
      store.saveDelivery("x", delivery(2, message({ expiresAt: 5_000 })));
      store.saveDelivery("x", delivery(3, message()));
      store.saveRetained(message({ topic: "old", retain: true, expiresAt: 2_000 }));
      store.saveRetained(message({ topic: "new", retain: true, expiresAt: 5_000 }));
      await store.commit();
      now = 2_000;
      store = await target.restart(store, dir, options);
      await store.load();
      await store.commit();
      assert.equal(await count(dir, "deliveries"), 2);
      assert.equal(await count(dir, "messages"), 3);
      await store.close();
    }));

  scenario("a write the database refuses rejects the commit with the driver's error as cause", async (store) => {
    store.saveSubscription("nobody", subscription("s"));
    const error = await rejection(store.commit());
    assert.equal(error.name, "StoreWriteError");
    assert.ok(error.cause instanceof Error, "the driver's error is the cause");
    return store;
  });

  test("close() commits what is pending; commit() after close() rejects", () =>
    withDir(async (dir) => {
      let store = await target.open(dir);
      store.saveSession(session("late"));
      await store.close();
      await rejection(store.commit());
      store = await target.open(dir);
      assert.deepEqual((await store.load()).sessions.map((s) => s.clientId), ["late"]);
      await store.close();
    }));

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
      const options = { maxDatabaseBytes: 256 * 1024 }; // an empty database (every table and index) is well below
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
