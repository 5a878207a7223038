/**
 * A stand-in for systemd's notification socket ($NOTIFY_SOCKET): a Unix datagram socket that
 * records every message (READY=1, STOPPING=1, ...). Neither Bun nor Node can receive on a Unix
 * datagram socket, so a small Deno program (the project's own deno, --unstable-net) listens and
 * prints each datagram as a JSON string on a line. systemd-notify's BARRIER=1 message passes a
 * file descriptor that the kernel closes when the datagram is read without it: that releases the
 * barrier the way systemd does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./broker.ts";

const LISTENER = `
const path = Deno.args[0];
const socket = Deno.listenDatagram({ transport: "unixpacket", path });
Deno.chmodSync(path, 0o666); // the broker may run as another user (the .deb test)
console.log(JSON.stringify("LISTENING"));
for await (const [data] of socket) console.log(JSON.stringify(new TextDecoder().decode(data)));
`;

export interface NotifySocket {
  readonly path: string;
  /** Every datagram so far, in order (BARRIER=1 included). */
  messages(): string[];
  /** Resolves with the first message matching `re` (waiting up to timeoutMs). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  close(): void;
}

export async function openNotifySocket(): Promise<NotifySocket> {
  const dir = mkdtempSync(join(tmpdir(), "gannet-notify-"));
  chmodSync(dir, 0o755);
  const path = join(dir, "notify.sock");
  const child: ChildProcess = spawn(
    join(REPO_ROOT, "node_modules", "deno", "deno"),
    ["eval", "--unstable-net", "--quiet", LISTENER, path],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  const received: string[] = [];
  let errors = "";
  let buffered = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      received.push(JSON.parse(buffered.slice(0, nl)) as string);
      buffered = buffered.slice(nl + 1);
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (errors += chunk));
  const waitFor = async (re: RegExp, timeoutMs = 20_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = received.find((m) => re.test(m));
      if (found !== undefined) return found;
      if (child.exitCode !== null) throw new Error(`the notify socket listener exited: ${errors}`);
      if (Date.now() > deadline) throw new Error(`no ${re} on ${path} within ${timeoutMs} ms; got ${JSON.stringify(received)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitFor(/^LISTENING$/, 30_000);
  received.splice(0, received.length);
  return {
    path,
    messages: () => [...received],
    waitFor,
    close: () => {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
