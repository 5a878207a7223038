/**
 * The store contract (after aedes-persistence's abstract suite): every Store implementation runs
 * it, through node:test and node:assert so that `bun test` and `deno test` both run it unchanged.
 * Runners: memory.test.ts, sqlite-bun.test.ts (bun:sqlite), libsql.deno.ts (libSQL on Deno).
 * What only a database can show (row counts, the SQL a commit ran, durability across close) is in
 * contract-sqlite.ts, which the SQLite runners call as well: no test here branches on the store kind.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Store } from "../../src/store/types.ts";
import {
  delivery,
  message,
  plain,
  rejection,
  richMessage,
  session,
  type StoreTarget,
  subscription,
  withDir,
} from "./fixtures.ts";

export function storeContract(target: StoreTarget): void {
  /** A test on a fresh store; `run` may restart it and returns the store to close. */
  const scenario = (name: string, run: (store: Store, dir: string) => Promise<Store>) =>
    test(name, () =>
      withDir(async (dir) => {
        const last = await run(await target.open(dir), dir);
        await last.close();
      }));

  describe(`Store contract: ${target.name}`, () => {
    test("durable flag", () =>
      withDir(async (dir) => {
        const store = await target.open(dir);
        assert.equal(store.durable, target.durable);
        await store.close();
      }));

    scenario("an empty store loads nothing, and commit() with nothing pending resolves", async (store) => {
      assert.deepEqual(await store.load(), { sessions: [], retained: [] });
      await store.commit();
      return store;
    });

    scenario("sessions and subscriptions survive a restart, updates replace, deletes remove", async (store, dir) => {
      store.saveSession(session("a"));
      store.saveSession(session("b", 1234));
      store.saveSubscription("a", subscription("x/+", { qos: 2, noLocal: true, subscriptionIdentifier: 7 }));
      store.saveSubscription("a", subscription("$share/g/y/#", { retainAsPublished: true, retainHandling: 2 }));
      store.saveSubscription("a", subscription("gone"));
      store.saveSubscription("b", subscription("z"));
      await store.commit();
      store.saveSession({ clientId: "a", expiryInterval: 60, disconnectedAt: 99 });
      store.saveSubscription("b", subscription("z", { qos: 0, retainHandling: 1 }));
      store.deleteSubscription("a", "gone");
      await store.commit();
      store = await target.restart(store, dir);
      const { sessions } = await store.load();
      const byId = new Map(sessions.map((s) => [s.clientId, s]));
      assert.deepEqual(sessions.map((s) => s.clientId).sort(), ["a", "b"]);
      const a = byId.get("a")!;
      assert.equal(a.expiryInterval, 60);
      assert.equal(a.disconnectedAt, 99);
      assert.deepEqual(a.subscriptions.sort((x, y) => x.key.localeCompare(y.key)), [
        subscription("$share/g/y/#", { retainAsPublished: true, retainHandling: 2 }),
        subscription("x/+", { qos: 2, noLocal: true, subscriptionIdentifier: 7 }),
      ]);
      assert.equal(byId.get("b")!.disconnectedAt, 1234);
      assert.deepEqual(byId.get("b")!.subscriptions, [subscription("z", { qos: 0, retainHandling: 1 })]);
      assert.deepEqual(a.deliveries, []);
      assert.deepEqual(a.awaitingRelease, []);
      assert.equal(a.will, undefined);
      return store;
    });

    scenario("deliveries: every message field survives, in id order, queued and in flight", async (store, dir) => {
      const rich = richMessage();
      const empty = message({ payload: new Uint8Array(0), qos: 2 });
      store.saveSession(session("c"));
      store.saveDelivery("c", delivery(30, empty, { qos: 2, retain: true }));
      store.saveDelivery("c", delivery(10, rich, { qos: 2, subscriptionIdentifiers: [3, 4] }));
      store.saveDelivery("c", delivery(20, message()));
      await store.commit();
      store.saveDelivery(
        "c",
        delivery(10, rich, { qos: 2, subscriptionIdentifiers: [3, 4], packetId: 5, state: "awaitingComp" }),
      );
      store.saveDelivery("c", delivery(20, message(), { packetId: 6, state: "awaitingAck" }));
      store.deleteDelivery("c", 20);
      await store.commit();
      store = await target.restart(store, dir);
      const [c] = (await store.load()).sessions;
      assert.deepEqual(
        plain(c!.deliveries),
        plain([
          delivery(10, rich, { qos: 2, subscriptionIdentifiers: [3, 4], packetId: 5, state: "awaitingComp" }),
          delivery(30, empty, { qos: 2, retain: true }),
        ]),
      );
      assert.ok(c!.deliveries[0]!.message.payload instanceof Uint8Array);
      assert.ok(c!.deliveries[0]!.message.properties.correlationData instanceof Uint8Array);
      return store;
    });

    scenario("packet ids awaiting PUBREL and delayed wills survive; replace and delete work", async (store, dir) => {
      store.saveSession(session("d"));
      store.saveSession(session("e"));
      for (const id of [1, 2, 65535]) store.saveAwaitingRelease("d", id);
      store.deleteAwaitingRelease("d", 2);
      store.saveWill("d", { message: message({ topic: "will/old" }), publishAt: 1 });
      store.saveWill("e", { message: message({ topic: "will/e" }), publishAt: 5 });
      await store.commit();
      const will = { message: richMessage(), publishAt: 1_700_000_000_000, messageExpiryInterval: 30 };
      store.saveWill("d", will);
      store.deleteWill("e");
      await store.commit();
      store = await target.restart(store, dir);
      const byId = new Map((await store.load()).sessions.map((s) => [s.clientId, s]));
      assert.deepEqual(byId.get("d")!.awaitingRelease.sort((x, y) => x - y), [1, 65535]);
      assert.deepEqual(plain(byId.get("d")!.will), plain(will));
      assert.equal(byId.get("e")!.will, undefined);
      return store;
    });

    scenario("retained messages: save, replace by topic, delete", async (store, dir) => {
      const rich = { ...richMessage(), topic: "r/1" };
      store.saveRetained(message({ topic: "r/1", retain: true }));
      store.saveRetained(message({ topic: "r/2", retain: true }));
      store.saveRetained(message({ topic: "r/3", retain: true }));
      await store.commit();
      store.saveRetained(rich);
      store.deleteRetained("r/2");
      await store.commit();
      store = await target.restart(store, dir);
      const { retained } = await store.load();
      assert.deepEqual(retained.map((m) => m.topic).sort(), ["r/1", "r/3"]);
      assert.deepEqual(plain(retained.find((m) => m.topic === "r/1")), plain(rich));
      return store;
    });

    scenario("deleteSession removes its subscriptions, deliveries, packet ids and will", async (store, dir) => {
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
      store = await target.restart(store, dir);
      const { sessions } = await store.load();
      assert.deepEqual(sessions.map((s) => s.clientId), ["g"]);
      assert.equal(sessions[0]!.deliveries.length, 1);
      store.deleteSession("g");
      await store.commit();
      store = await target.restart(store, dir);
      assert.deepEqual((await store.load()).sessions, []);
      return store;
    });

    scenario("deleteSession then saves in the same batch: only the later writes remain", async (store, dir) => {
      store.saveSession(session("h"));
      store.saveSubscription("h", subscription("old"));
      store.saveDelivery("h", delivery(1));
      await store.commit();
      store.saveSubscription("h", subscription("older"));
      store.deleteSession("h");
      store.saveSession(session("h", 5));
      store.saveSubscription("h", subscription("new"));
      await store.commit();
      store = await target.restart(store, dir);
      const [h] = (await store.load()).sessions;
      assert.equal(h!.disconnectedAt, 5);
      assert.deepEqual(h!.subscriptions.map((s) => s.key), ["new"]);
      assert.deepEqual(h!.deliveries, []);
      return store;
    });

    scenario(
      "a message fanned out to many sessions is stored once, until its last reference goes",
      async (store, dir) => {
        const m = message({ retain: true, payload: new Uint8Array(10_000) });
        for (let i = 0; i < 50; i++) {
          store.saveSession(session(`fan${i}`));
          store.saveDelivery(`fan${i}`, delivery(100 + i, m));
        }
        store.saveRetained(m);
        await store.commit();
        store = await target.restart(store, dir);
        const { sessions, retained } = await store.load();
        assert.equal(sessions.length, 50);
        const loaded = sessions.map((s) => s.deliveries[0]!.message);
        assert.ok(loaded.every((x) => x === retained[0]), "loaded once, shared by reference");
        // After a restart the loaded objects keep their row: new references do not copy the payload.
        store.saveSession(session("late"));
        store.saveDelivery("late", delivery(1000, retained[0]!));
        for (let i = 0; i < 50; i++) store.deleteDelivery(`fan${i}`, 100 + i);
        store.deleteRetained(m.topic);
        await store.commit();
        store = await target.restart(store, dir);
        const after = await store.load();
        assert.deepEqual(after.retained, []);
        assert.deepEqual(after.sessions.find((s) => s.clientId === "late")!.deliveries.map((d) => d.message.payload.length), [10_000]);
        return store;
      },
    );

    scenario("group commit: many writes, one commit, every commit caller resolves", async (store, dir) => {
      store.saveSession(session("gc"));
      const commits: Array<Promise<void>> = [];
      for (let i = 1; i <= 1000; i++) {
        store.saveDelivery("gc", delivery(i));
        if (i % 100 === 0) commits.push(store.commit());
      }
      await Promise.all(commits);
      store = await target.restart(store, dir);
      const [gc] = (await store.load()).sessions;
      assert.deepEqual(gc!.deliveries.map((d) => d.id), Array.from({ length: 1000 }, (_, i) => i + 1));
      return store;
    });

    scenario("coalescing: saved then deleted in one batch is never written; the last save wins", async (store, dir) => {
      store.saveSession(session("co"));
      store.saveDelivery("co", delivery(1));
      await store.commit();
      const m = message();
      store.saveDelivery("co", delivery(2, m));
      store.saveDelivery("co", delivery(2, m, { packetId: 1, state: "awaitingAck" }));
      store.saveDelivery("co", delivery(2, m, { packetId: 1, state: "awaitingComp", qos: 2 }));
      store.saveDelivery("co", delivery(3));
      store.deleteDelivery("co", 3);
      await store.commit();
      store = await target.restart(store, dir);
      const [co] = (await store.load()).sessions;
      assert.deepEqual(plain(co!.deliveries.map((d) => [d.id, d.qos, d.packetId, d.state])), [
        [1, 1, null, null],
        [2, 2, 1, "awaitingComp"],
      ]);
      return store;
    });

    scenario("writes are snapshots taken at call time; load returns copies", async (store, dir) => {
      store.saveSession(session("snap"));
      const d = delivery(1, message(), { subscriptionIdentifiers: [1] });
      store.saveDelivery("snap", d);
      d.packetId = 99;
      d.subscriptionIdentifiers!.push(2);
      await store.commit();
      store = await target.restart(store, dir);
      const first = await store.load();
      assert.equal(first.sessions[0]!.deliveries[0]!.packetId, undefined);
      assert.deepEqual(first.sessions[0]!.deliveries[0]!.subscriptionIdentifiers, [1]);
      first.sessions[0]!.deliveries[0]!.subscriptionIdentifiers!.push(3);
      first.sessions[0]!.subscriptions.push(subscription("mutated"));
      const second = await store.load();
      assert.deepEqual(second.sessions[0]!.deliveries[0]!.subscriptionIdentifiers, [1]);
      assert.deepEqual(second.sessions[0]!.subscriptions, []);
      return store;
    });

    test("expired deliveries and retained messages are dropped at load", () =>
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
        let state = await store.load();
        assert.deepEqual(state.sessions[0]!.deliveries.map((d) => d.id), [2, 3]);
        assert.deepEqual(state.retained.map((m) => m.topic), ["new"]);
        await store.commit();
        store = await target.restart(store, dir, options);
        state = await store.load();
        assert.deepEqual(state.sessions[0]!.deliveries.map((d) => d.id), [2, 3]);
        await store.close();
      }));

    scenario(
      "a write for a client with no stored session rejects the commit; the store carries on",
      async (store, dir) => {
        store.saveSession(session("ok"));
        store.saveSubscription("nobody", subscription("s"));
        const error = await rejection(store.commit());
        assert.equal(error.name, "StoreWriteError");
        store.saveSession(session("ok2"));
        store.saveSubscription("ok2", subscription("s"));
        await store.commit();
        store = await target.restart(store, dir);
        const ids = (await store.load()).sessions.map((s) => s.clientId);
        assert.ok(ids.includes("ok2"));
        return store;
      },
    );
  });
}
