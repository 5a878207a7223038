/**
 * The database checks with a fake machine: the cases a test box cannot easily stage for real
 * (read-only file system, a lock held by another process), and the database an older version
 * left in the working directory.
 */
import { describe, expect, test } from "bun:test";
import type { CommandIo } from "../../src/app/commands.ts";
import { explainOpenFailure, matchDirectoryOwner, preflightDatabase } from "../../src/app/database.ts";
import type { PathStat } from "../../src/app/host.ts";

function fakeIo(files: Record<string, PathStat>, options: { uid?: number; denied?: Record<string, string> } = {}) {
  const chowned: string[] = [];
  const io: CommandIo = {
    env: {},
    print() {},
    readTextFile: (path) => (path === "/etc/passwd" ? "root:x:0:0::/root:/bin/sh\ngannet:x:998:998::/var/lib/gannet:/usr/sbin/nologin\n" : undefined),
    cwd: () => "/home/op",
    uid: () => options.uid ?? 0,
    stat: (path) => files[path],
    access: (path) => options.denied?.[path],
    chown: (path, uid, gid) => {
      chowned.push(`${path} ${uid}:${gid}`);
      files[path] = { ...files[path]!, uid, gid };
    },
    checkKeyPair: () => undefined,
    readSecret: () => Promise.resolve(undefined),
  };
  return { io, chowned };
}

const dir = (uid = 998): PathStat => ({ isDirectory: true, uid, gid: uid, mode: 0o750 });
const file = (uid = 998): PathStat => ({ isDirectory: false, uid, gid: uid, mode: 0o640 });
const ctx = { configFile: "/etc/gannet/gannet.yaml", writtenPath: "/var/lib/gannet/gannet.db" };

describe("database checks", () => {
  test("a lock held by another process is named as such", () => {
    const { io } = fakeIo({ "/var/lib/gannet": dir(), "/var/lib/gannet/gannet.db": file() });
    expect(explainOpenFailure(io, "/var/lib/gannet/gannet.db", "write", ctx, "database is locked"))
      .toBe("the database /var/lib/gannet/gannet.db is locked by another process (another gannet, or a tool holding a " +
        "write transaction): stop it or try again (database is locked)");
  });

  test("a read-only file system is named as such", () => {
    const { io } = fakeIo(
      { "/var/lib/gannet": dir(), "/var/lib/gannet/gannet.db": file() },
      { denied: { "/var/lib/gannet/gannet.db": "EROFS: read-only file system, access '/var/lib/gannet/gannet.db'" } },
    );
    const checked = preflightDatabase(io, "/var/lib/gannet/gannet.db", "serve", ctx);
    expect(checked).toMatchObject({ ok: false, problem: expect.stringContaining("read-only file system (remount it read-write") });
  });

  test("a relative path that used to mean the working directory: refused with the absolute path to set", () => {
    const { io } = fakeIo({ "/etc/gannet": dir(0), "/home/op/gannet.db": file() });
    const checked = preflightDatabase(io, "/etc/gannet/gannet.db", "serve", { configFile: "/etc/gannet/gannet.yaml", writtenPath: "gannet.db" });
    expect(checked).toEqual({
      ok: false,
      configProblem: true,
      problem: "persistence.path gannet.db in /etc/gannet/gannet.yaml means /etc/gannet/gannet.db (relative to the file's " +
        "directory), which does not exist; a database exists at /home/op/gannet.db (relative to the working directory, " +
        "as older versions read it): set persistence.path: /home/op/gannet.db in /etc/gannet/gannet.yaml, or move " +
        "that database to /etc/gannet/gannet.db",
    });
  });

  test("root's new files go to the directory's owner; nothing changes for other users or root-owned directories", () => {
    const files = { "/var/lib/gannet": dir(), "/var/lib/gannet/gannet.db": file(0), "/var/lib/gannet/gannet.db-wal": file(0) };
    const { io, chowned } = fakeIo(files);
    const db = { path: "/var/lib/gannet/gannet.db", directory: "/var/lib/gannet", existed: false };
    expect(matchDirectoryOwner(io, db)).toBe("gannet");
    expect(chowned).toEqual(["/var/lib/gannet/gannet.db 998:998", "/var/lib/gannet/gannet.db-wal 998:998"]);
    expect(matchDirectoryOwner(io, db)).toBeUndefined(); // already right
    expect(matchDirectoryOwner(fakeIo({ "/var/lib/gannet": dir(), "/var/lib/gannet/gannet.db": file(0) }, { uid: 1000 }).io, db))
      .toBeUndefined();
  });
});
