/**
 * systemd readiness (Type=notify): with $NOTIFY_SOCKET set, the broker sends READY=1 once its
 * listeners accept connections and STOPPING=1 when it starts to shut down, through systemd-notify
 * (Debian's systemd package). The socket is a stand-in that records the datagrams.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { connectClient } from "../helpers/clients.ts";
import { RUNTIMES, startBroker } from "../helpers/broker.ts";
import { type NotifySocket, openNotifySocket } from "../helpers/notify-socket.ts";

for (const runtime of RUNTIMES) {
  describe(`systemd notification (${runtime})`, () => {
    let socket: NotifySocket;
    beforeEach(async () => {
      socket = await openNotifySocket();
    }, 40_000);
    afterEach(() => socket.close());

    test("READY=1 (with a STATUS line) once the listeners accept connections; STOPPING=1 on SIGTERM, then exit 0", async () => {
      const broker = await startBroker({ runtime, env: { NOTIFY_SOCKET: socket.path } });
      try {
        const ready = await socket.waitFor(/^READY=1/);
        expect(ready).toBe("READY=1\nSTATUS=ready: 2 listeners");
        const client = await connectClient(broker, { protocolVersion: 5 });
        client.end(true);
        expect(socket.messages().filter((m) => m.includes("STOPPING=1"))).toEqual([]);
      } finally {
        expect(await broker.stop()).toBe(0);
      }
      await socket.waitFor(/^STOPPING=1$/);
      const order = socket.messages().filter((m) => m !== "BARRIER=1");
      expect(order).toEqual(["READY=1\nSTATUS=ready: 2 listeners", "STOPPING=1"]);
    }, 60_000);

    test("without systemd-notify on PATH the broker still serves and logs a warning with the fix", async () => {
      const broker = await startBroker({ runtime, env: { NOTIFY_SOCKET: socket.path, PATH: "/nonexistent" } });
      try {
        const line = await broker.waitForLog(/cannot notify systemd/, 10_000);
        expect(line).toContain("install systemd-notify");
        expect(line).toContain('"level":"warn"');
        const client = await connectClient(broker, { protocolVersion: 5 });
        client.end(true);
        expect(socket.messages()).toEqual([]);
      } finally {
        expect(await broker.stop()).toBe(0);
      }
    }, 60_000);
  });
}
