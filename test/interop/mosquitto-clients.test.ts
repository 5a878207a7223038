/**
 * Interop with independent clients: Debian's mosquitto_pub / mosquitto_sub (libmosquitto) exchange
 * messages with Gannet, under every runtime in RUNTIMES, for MQTT 3.1.1 and 5.0 at QoS 0, 1 and 2:
 * - mosquitto_pub -> mqtt.js subscriber (mosquitto_pub exits 0 only after its QoS flow completed);
 * - mqtt.js publisher -> mosquitto_sub (-C 1 -W 5 bounds the wait; -d shows the PUBLISH it received,
 *   whose QoS and retain flag are checked);
 * - mosquitto_pub -r -> mosquitto_sub: a retained message reaches a later subscriber.
 * test/prepare.sh installs mosquitto-clients when missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import type { MqttClient } from "mqtt";
import { RUNTIMES, type RunningBroker, startBroker } from "../helpers/broker.ts";
import { closeAll, connectClient, nextMessage, publish, subscribe, uniqueId, withTimeout } from "../helpers/clients.ts";

type QoS = 0 | 1 | 2;
const VERSIONS = [
  { flag: "mqttv311", name: "MQTT 3.1.1", protocolVersion: 4 },
  { flag: "mqttv5", name: "MQTT 5.0", protocolVersion: 5 },
] as const;
const QOS: QoS[] = [0, 1, 2];
/** Above mosquitto_sub's own -W 5, so a missing message fails with its output, not a bare timeout. */
const TIMEOUT_MS = 15_000;

interface Proc {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process ended (killed after 10 s as a safety net). */
  done: Promise<number | null>;
  /** Resolves when the output matches `re` (rejects if the process ends first or after 5 s). */
  waitOutput: (re: RegExp) => Promise<void>;
}

function run(cmd: string, args: string[]): Proc {
  // stdbuf: mosquitto_sub's stdout is a pipe here, so without line buffering its "received SUBACK"
  // would only show up when it exits.
  const child = spawn("stdbuf", ["-oL", cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let waiters: Array<() => void> = [];
  const notify = () => {
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };
  child.stdout!.setEncoding("utf8").on("data", (s: string) => ((out += s), notify()));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => ((out += s), notify()));
  let ended = false;
  const safety = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const done = new Promise<number | null>((resolve) => {
    child.once("close", (code) => {
      ended = true;
      clearTimeout(safety);
      notify();
      resolve(code);
    });
    child.once("error", (err) => {
      ended = true;
      out += `\n[spawn error] ${err.message}`;
      clearTimeout(safety);
      notify();
      resolve(null);
    });
  });
  const waitOutput = (re: RegExp) =>
    withTimeout(
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(out)) resolve();
          else if (ended) reject(new Error(`${cmd} ended before printing ${re}:\n${out}`));
          else waiters.push(check);
        };
        check();
      }),
      5_000,
      `${cmd} to print ${re}; output so far:\n${out}`,
    );
  return { child, output: () => out, done, waitOutput };
}

function common(b: RunningBroker, version: string, clientId: string): string[] {
  return ["-h", b.host, "-p", String(b.port), "-V", version, "-i", clientId, "-d"];
}

/** Runs mosquitto_pub to completion and checks it succeeded. */
async function mosquittoPub(b: RunningBroker, version: string, args: string[]): Promise<string> {
  const p = run("mosquitto_pub", [...common(b, version, uniqueId("mpub")), ...args]);
  const code = await p.done;
  if (code !== 0) throw new Error(`mosquitto_pub exited with ${code}:\n${p.output()}`);
  return p.output();
}

/** Starts mosquitto_sub for one message (-C 1 -W 5) and resolves once its SUBACK arrived. */
async function mosquittoSub(b: RunningBroker, version: string, topic: string, qos: QoS): Promise<Proc> {
  const p = run("mosquitto_sub", [
    ...common(b, version, uniqueId("msub")),
    "-t", topic, "-q", String(qos), "-v", "-C", "1", "-W", "5",
  ]);
  await p.waitOutput(/received SUBACK/);
  return p;
}

/** The flags of the PUBLISH mosquitto_sub printed with -d: "received PUBLISH (d0, q1, r0, m1, 'topic', ...". */
function receivedPublish(output: string, topic: string): { qos: number; retain: boolean } {
  const m = output.match(new RegExp(`received PUBLISH \\(d\\d, q(\\d), r(\\d), m\\d+, '${topic}'`));
  if (!m) throw new Error(`no PUBLISH on ${topic} in mosquitto_sub output:\n${output}`);
  return { qos: Number(m[1]), retain: m[2] === "1" };
}

for (const runtime of RUNTIMES) {
  describe(`mosquitto clients interop (${runtime})`, () => {
    let broker: RunningBroker;
    const clients: MqttClient[] = [];

    beforeAll(async () => {
      broker = await startBroker({ runtime });
    });
    afterAll(async () => {
      await closeAll(...clients);
      await broker?.stop();
    });

    for (const v of VERSIONS) {
      for (const qos of QOS) {
        test(`${v.name} QoS ${qos}: mosquitto_pub -> mqtt.js subscriber`, async () => {
          const topic = uniqueId(`interop/${v.flag}/q${qos}/in`);
          const payload = `from mosquitto_pub ${v.flag} q${qos}`;
          const sub = await connectClient(broker, { clientId: uniqueId("js-sub"), protocolVersion: v.protocolVersion });
          clients.push(sub);
          const granted = await subscribe(sub, topic, { qos: 2 });
          expect(granted[0]?.qos).toBe(2);
          const got = nextMessage(sub, 5_000);
          const out = await mosquittoPub(broker, v.flag, ["-t", topic, "-m", payload, "-q", String(qos)]);
          if (qos === 1) expect(out).toMatch(/received PUBACK/);
          if (qos === 2) expect(out).toMatch(/received PUBCOMP/);
          const m = await got;
          expect(m.topic).toBe(topic);
          expect(m.payload.toString()).toBe(payload);
          expect(m.packet.qos).toBe(qos);
          expect(m.packet.retain).toBe(false);
          await closeAll(sub);
        }, TIMEOUT_MS);

        test(`${v.name} QoS ${qos}: mqtt.js publisher -> mosquitto_sub`, async () => {
          const topic = uniqueId(`interop/${v.flag}/q${qos}/out`);
          const payload = `from mqtt.js ${v.flag} q${qos}`;
          const sub = await mosquittoSub(broker, v.flag, topic, qos);
          const pub = await connectClient(broker, { clientId: uniqueId("js-pub"), protocolVersion: v.protocolVersion });
          clients.push(pub);
          await publish(pub, topic, payload, { qos });
          const code = await sub.done;
          const out = sub.output();
          expect(code, out).toBe(0);
          expect(out.split("\n")).toContain(`${topic} ${payload}`);
          expect(receivedPublish(out, topic)).toEqual({ qos, retain: false });
          await closeAll(pub);
        }, TIMEOUT_MS);
      }

      test(`${v.name} QoS 1 retained: mosquitto_pub -r -> later mosquitto_sub`, async () => {
        const topic = uniqueId(`interop/${v.flag}/retained`);
        const payload = `retained ${v.flag}`;
        await mosquittoPub(broker, v.flag, ["-t", topic, "-m", payload, "-q", "1", "-r"]);
        const sub = run("mosquitto_sub", [
          ...common(broker, v.flag, uniqueId("msub")),
          "-t", topic, "-q", "1", "-v", "-C", "1", "-W", "5",
        ]);
        const code = await sub.done;
        const out = sub.output();
        expect(code, out).toBe(0);
        expect(out.split("\n")).toContain(`${topic} ${payload}`);
        expect(receivedPublish(out, topic)).toEqual({ qos: 1, retain: true });
        // Clear it (an empty retained message deletes it) so it does not outlive the test.
        await mosquittoPub(broker, v.flag, ["-t", topic, "-n", "-q", "1", "-r"]);
      }, TIMEOUT_MS);
    }
  });
}
