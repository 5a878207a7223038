/** Shared pieces of the store contract suite: the target description, temp dirs, sample data. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Message } from "../../src/model/message.ts";
import type { SqlExecutor, SqlRow, SqlStatement } from "../../src/store/sqlite/executor.ts";
import type { Store, StoredDelivery, StoredSubscription } from "../../src/store/types.ts";

export interface TargetOptions {
  now?: () => number;
  maxDatabaseBytes?: number;
  commitIntervalMs?: number;
  /** SQLite targets: `PRAGMA max_page_count` on the store's connection, to make the "disk" fill up. */
  maxPageCount?: number;
}

/** One Store implementation under test. */
export interface StoreTarget {
  name: string;
  durable: boolean;
  /** A store over `dir` (a fresh temp dir per test): the same dir means the same database. */
  open(dir: string, options?: TargetOptions): Promise<Store>;
  /** What a restart means: close and reopen (durable stores), or the same instance (memory). */
  restart(store: Store, dir: string, options?: TargetOptions): Promise<Store>;
}

/** A SQLite store under test: what contract-sqlite.ts needs to look at the database itself. */
export interface SqliteTarget extends StoreTarget {
  sqlite: SqliteHooks;
}

export interface SqliteHooks {
  /** The database file of `dir`. */
  file(dir: string): string;
  /** The transactions of the stores opened so far (SQL text of each statement), oldest first. */
  transactions: string[][];
  /** A query with the raw driver, outside the store (WAL lets it read while a store is open). */
  query(dir: string, sql: string): Promise<SqlRow[]>;
}

/** Wraps an executor to record the statements of every transaction into `log`. */
export function recording(executor: SqlExecutor, log: string[][]): SqlExecutor {
  return {
    kind: executor.kind,
    location: executor.location,
    all: (sql, params) => executor.all(sql, params),
    run: (sql, params) => executor.run(sql, params),
    transaction: (statements: readonly SqlStatement[]) => {
      log.push(statements.map((s) => s.sql));
      return executor.transaction(statements);
    },
    close: () => executor.close(),
  };
}

export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "gannet-store-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const session = (clientId: string, disconnectedAt: number | null = null) => ({
  clientId,
  expiryInterval: 3600,
  disconnectedAt,
});

let topicSeq = 0;
export function message(overrides: Partial<Message> = {}): Message {
  return {
    topic: `t/${++topicSeq}`,
    payload: new TextEncoder().encode(`payload ${topicSeq}`),
    qos: 1,
    retain: false,
    properties: {},
    ...overrides,
  };
}

/** A message using every field and property, with binary payload and correlation data. */
export function richMessage(): Message {
  const payload = new Uint8Array(256);
  for (let i = 0; i < 256; i++) payload[i] = i;
  return {
    topic: "a/ü/🦆",
    payload,
    qos: 2,
    retain: true,
    properties: {
      payloadFormatIndicator: false,
      contentType: "application/octet-stream",
      responseTopic: "reply/to",
      correlationData: new Uint8Array([0, 255, 1, 254]),
      userProperties: [["k", "v1"], ["k", "v2"], ["", ""]],
    },
    expiresAt: 9_000_000_000_000,
    origin: "publisher",
  };
}

export function delivery(id: number, m: Message = message(), extra: Partial<StoredDelivery> = {}): StoredDelivery {
  return { id, message: m, qos: 1, retain: false, ...extra };
}

export function subscription(key: string, extra: Partial<StoredSubscription> = {}): StoredSubscription {
  return { key, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, ...extra };
}

/** Comparable form: payloads and correlation data as plain arrays. */
export function plain<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? { bytes: [...v] } : v)));
}

/** The rejection of `promise` (fails when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e: unknown) {
    if (e instanceof Error) return e;
    throw new Error(`rejected with a non-Error: ${String(e)}`);
  }
  throw new Error("expected a rejection, but it resolved");
}

/** Runs a command to completion (node:child_process, so that both runtimes type-check this file). */
export function runCommand(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: "1" } });
    let output = "";
    child.stdout.on("data", (chunk: Uint8Array) => (output += new TextDecoder().decode(chunk)));
    child.stderr.on("data", (chunk: Uint8Array) => (output += new TextDecoder().decode(chunk)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}
