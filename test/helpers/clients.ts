/** mqtt.js client helpers for socket-level tests: short timeouts so a hang fails fast. */
import mqtt from "mqtt";
import type { IClientOptions, MqttClient } from "mqtt";
import type { RunningBroker } from "./broker.ts";

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  // deno-lint-ignore no-explicit-any
  packet: any;
}

export type ConnectOptions = IClientOptions & {
  transport?: "tcp" | "ws";
  /** Called with the client before it connects (e.g. to attach a 'message' listener early). */
  beforeConnect?: (c: MqttClient) => void;
};

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Connect an mqtt.js client (MQTT 3.1.1 unless `protocolVersion` says otherwise).
 * Resolves on 'connect'; rejects on error, close or after 5 s. reconnectPeriod is 0 by default.
 */
export function connectClient(b: RunningBroker, opts: ConnectOptions = {}): Promise<MqttClient> {
  const { transport = "tcp", beforeConnect, ...rest } = opts;
  const url = transport === "ws" ? `ws://${b.host}:${b.wsPort}/mqtt` : `mqtt://${b.host}:${b.port}`;
  const client = mqtt.connect(url, {
    reconnectPeriod: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...rest,
  });
  beforeConnect?.(client);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.removeListener("connect", onConnect);
      client.removeListener("error", onError);
      client.removeListener("close", onClose);
      if (err) {
        client.end(true);
        reject(err);
      } else {
        resolve(client);
      }
    };
    const onConnect = () => finish();
    const onError = (e: Error) => finish(e);
    const onClose = () => finish(new Error(`connection to ${url} closed before CONNACK`));
    const timer = setTimeout(
      () => finish(new Error(`no CONNACK from ${url} within ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
    client.on("connect", onConnect);
    client.on("error", onError);
    client.on("close", onClose);
  });
}

/** The next message the client receives (rejects after timeoutMs, default 2 s). */
export function nextMessage(c: MqttClient, timeoutMs = 2_000): Promise<ReceivedMessage> {
  return new Promise((resolve, reject) => {
    // deno-lint-ignore no-explicit-any
    const onMessage = (topic: string, payload: Buffer, packet: any) => {
      clearTimeout(timer);
      c.removeListener("message", onMessage);
      resolve({ topic, payload, packet });
    };
    const timer = setTimeout(() => {
      c.removeListener("message", onMessage);
      reject(new Error(`no message within ${timeoutMs} ms`));
    }, timeoutMs);
    c.on("message", onMessage);
  });
}

export interface MessageCollector {
  messages: ReceivedMessage[];
  /** Resolves with the messages once at least n arrived; rejects after timeoutMs (default 2 s). */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  stop(): void;
}

/** Record every message from now on. */
export function collectMessages(c: MqttClient): MessageCollector {
  const messages: ReceivedMessage[] = [];
  let waiters: Array<() => void> = [];
  // deno-lint-ignore no-explicit-any
  const onMessage = (topic: string, payload: Buffer, packet: any) => {
    messages.push({ topic, payload, packet });
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };
  c.on("message", onMessage);
  return {
    messages,
    waitFor(n: number, timeoutMs = 2_000): Promise<ReceivedMessage[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(timer);
            resolve(messages);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          reject(
            new Error(
              `expected ${n} messages within ${timeoutMs} ms, got ${messages.length}: ` +
                JSON.stringify(messages.slice(0, 20).map((m) => [m.topic, m.payload.subarray(0, 40).toString()])),
            ),
          );
        }, timeoutMs);
        const loop = () => {
          if (!check()) waiters.push(loop);
        };
        loop();
      });
    },
    stop() {
      c.removeListener("message", onMessage);
    },
  };
}

/** Connect with a message collector attached before CONNACK (nothing sent right after CONNACK is missed). */
export async function connectCollecting(
  b: RunningBroker,
  opts: ConnectOptions = {},
): Promise<{ client: MqttClient; col: MessageCollector }> {
  let col: MessageCollector | undefined;
  const client = await connectClient(b, {
    ...opts,
    beforeConnect: (c) => {
      col = collectMessages(c);
      opts.beforeConnect?.(c);
    },
  });
  return { client, col: col! };
}

/** Fails if any message arrives within ms (default 300). */
export function expectNoMessage(c: MqttClient, ms = 300): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (topic: string, payload: Buffer) => {
      clearTimeout(timer);
      c.removeListener("message", onMessage);
      reject(new Error(`unexpected message on "${topic}": ${payload.toString().slice(0, 100)}`));
    };
    const timer = setTimeout(() => {
      c.removeListener("message", onMessage);
      resolve();
    }, ms);
    c.on("message", onMessage);
  });
}

let counter = 0;
const runTag = Math.random().toString(36).slice(2, 6);

/** A unique, short id for client ids and topics (unique per test process and call). */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${runTag}${counter.toString(36)}`;
}

/**
 * Close clients: a normal DISCONNECT after pending writes are flushed, forced after 1.5 s.
 * Never throws; never hangs for more than ~2 s.
 */
export async function closeAll(...clients: Array<MqttClient | null | undefined>): Promise<void> {
  await Promise.all(
    clients.map((c) =>
      c
        ? new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            try {
              c.end(true, {}, () => resolve());
            } catch {
              resolve();
            }
            setTimeout(resolve, 500);
          }, 1_500);
          try {
            c.end(false, {}, () => {
              clearTimeout(force);
              resolve();
            });
          } catch {
            clearTimeout(force);
            resolve();
          }
        })
        : Promise.resolve()
    ),
  );
}

/** Promise wrappers around the callback API of mqtt.js. */
export function subscribe(
  c: MqttClient,
  topic: string | string[],
  opts: { qos?: 0 | 1 | 2 } & Record<string, unknown> = { qos: 0 },
  timeoutMs = 2_000,
  // deno-lint-ignore no-explicit-any
): Promise<any[]> {
  return withTimeout(
    // deno-lint-ignore no-explicit-any
    new Promise<any[]>((resolve, reject) => {
      // deno-lint-ignore no-explicit-any
      c.subscribe(topic, opts as any, (err, granted) => (err ? reject(err) : resolve(granted ?? [])));
    }),
    timeoutMs,
    `SUBACK for ${JSON.stringify(topic)}`,
  );
}

export function publish(
  c: MqttClient,
  topic: string,
  payload: string | Buffer,
  opts: { qos?: 0 | 1 | 2; retain?: boolean } & Record<string, unknown> = {},
  timeoutMs = 2_000,
): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve, reject) => {
      // deno-lint-ignore no-explicit-any
      c.publish(topic, payload, opts as any, (err) => (err ? reject(err) : resolve()));
    }),
    timeoutMs,
    `publish to ${topic}`,
  );
}

export function unsubscribe(c: MqttClient, topic: string | string[], timeoutMs = 2_000): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve, reject) => {
      c.unsubscribe(topic, (err) => (err ? reject(err) : resolve()));
    }),
    timeoutMs,
    `UNSUBACK for ${JSON.stringify(topic)}`,
  );
}

/** Resolves when the client's connection closes (true) or false after timeoutMs. */
export function waitClose(c: MqttClient, timeoutMs = 2_000): Promise<boolean> {
  if (!c.connected && (c as unknown as { disconnected?: boolean }).disconnected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      c.removeListener("close", onClose);
      resolve(false);
    }, timeoutMs);
    c.once("close", onClose);
  });
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * "Every other client carries on": a fresh client connects and does a QoS 1 pub/sub round trip.
 * Throws if the broker is not serving normally.
 */
export async function assertRoundTrip(b: RunningBroker, opts: ConnectOptions = {}): Promise<void> {
  const topic = uniqueId("roundtrip");
  const sub = await connectClient(b, { clientId: uniqueId("rt-sub"), ...opts });
  const pub = await connectClient(b, { clientId: uniqueId("rt-pub"), ...opts });
  try {
    await subscribe(sub, topic, { qos: 1 });
    const got = nextMessage(sub, 3_000);
    await publish(pub, topic, "ping", { qos: 1 });
    const m = await got;
    if (m.topic !== topic || m.payload.toString() !== "ping") {
      throw new Error(`round trip delivered ${m.topic} ${m.payload.toString()}`);
    }
  } finally {
    await closeAll(sub, pub);
  }
}
