/** The admin HTTP port of a running broker (Bun and Deno): probes and the console page from web/. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, REPO_ROOT, RUNTIMES, type RunningBroker, startBroker } from "../helpers/broker.ts";
import { afterAll, beforeAll } from "bun:test";

for (const runtime of RUNTIMES) {
  describe(`admin HTTP port (${runtime})`, () => {
    let broker: RunningBroker | undefined;
    let base = "";
    beforeAll(async () => {
      const port = await freePort();
      broker = await startBroker({ runtime, args: ["--admin-port", String(port)] });
      base = `http://127.0.0.1:${port}`;
    }, 30_000);
    afterAll(async () => {
      await broker?.stop();
    }, 10_000);

    test("logs where it listens", async () => {
      await broker!.waitForLog(/"msg":"listening","kind":"admin","host":"127\.0\.0\.1"/);
    });

    test("/healthz and /readyz answer 200 once ready", async () => {
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "ok", runtime: expect.stringContaining(runtime) });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready" });
    });

    test("/ serves web/dist/index.html (built by scripts/build-web.ts)", async () => {
      const res = await fetch(`${base}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("text/html");
      expect(await res.text()).toBe(readFileSync(join(REPO_ROOT, "web", "dist", "index.html"), "utf8"));
    });

    test("unknown paths are 404", async () => {
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/%2e%2e/package.json`)).status).toBe(404);
    });
  });
}

describe("admin port taken", () => {
  test("a chosen admin port that is taken stops the start (exit 1)", async () => {
    const port = await freePort();
    const first = await startBroker({ runtime: "bun", args: ["--admin-port", String(port)] });
    try {
      await expect(startBroker({ runtime: "bun", args: ["--admin-port", String(port)] })).rejects.toThrow(
        /cannot start the admin HTTP port/,
      );
    } finally {
      await first.stop();
    }
  }, 30_000);
});
