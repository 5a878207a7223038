/**
 * RetainedStore and the compact form it keeps (src/core/retained.ts, src/core/compact-message.ts):
 * what goes in comes out the same, whatever the payload's bytes and size, and reads never alias the
 * kept state.
 */
import { describe, expect, test } from "bun:test";
import { RetainedStore } from "../../src/core/retained.ts";
import { compactMessage, SMALL_PAYLOAD_BYTES, toMessages } from "../../src/core/compact-message.ts";
import type { Message } from "../../src/model/message.ts";

function message(topic: string, payload: Uint8Array, extra: Partial<Message> = {}): Message {
  return { topic, payload, qos: 1, retain: true, properties: {}, origin: "publisher", ...extra };
}
/** Every byte value, `size` bytes long. */
function bytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 7 + 3) & 0xff;
  return out;
}

describe("compact retained messages", () => {
  for (const size of [1, 6, 255, 256, SMALL_PAYLOAD_BYTES, SMALL_PAYLOAD_BYTES + 1, 70_000]) {
    test(`a ${size}-byte payload of every byte value comes back the same (get and match)`, () => {
      const store = new RetainedStore();
      const original = message("a/b", bytes(size), { qos: 2 });
      store.set(original);
      expect(store.get("a/b", 0)).toEqual({ ...original, payload: bytes(size) });
      expect(store.match("a/+", 0)).toEqual([{ ...original, payload: bytes(size) }]);
    });
  }

  test("v5 properties, expiry and origin are kept; a message without properties reads back with none", () => {
    const store = new RetainedStore();
    const rich = message("rich", bytes(3), {
      qos: 0,
      expiresAt: 5_000,
      properties: { contentType: "text/plain", payloadFormatIndicator: true, correlationData: bytes(4), userProperties: [["k", "v"], ["k", "w"]] },
    });
    store.set(rich);
    store.set(message("plain", bytes(3), { origin: undefined }));
    expect(store.get("rich", 0)).toEqual(rich);
    const plain = store.get("plain", 0)!;
    expect(plain.properties).toEqual({});
    expect("origin" in plain).toBe(false);
    expect("expiresAt" in plain).toBe(false);
  });

  test("a message with a large payload reads back as the very object kept (a durable store writes it once)", () => {
    const store = new RetainedStore();
    const large = message("large", bytes(SMALL_PAYLOAD_BYTES + 1));
    store.set(large);
    expect(store.get("large", 0)).toBe(large);
    expect(store.match("#", 0)[0]).toBe(large);
  });

  test("a read of a small payload is a copy: changing its payload changes neither the store nor the next read", () => {
    const store = new RetainedStore();
    store.set(message("t/1", bytes(6)));
    store.set(message("t/2", bytes(6)));
    store.get("t/1", 0)!.payload.fill(0);
    for (const m of store.match("t/#", 0)) m.payload.fill(0);
    expect(store.get("t/1", 0)!.payload).toEqual(bytes(6));
    expect(store.match("t/#", 0).map((m) => m.payload)).toEqual([bytes(6), bytes(6)]);
  });

  test("[v5 MQTT-3.3.1-5, MQTT-3.3.1-6] a new message replaces the old one; an empty payload deletes it", () => {
    const store = new RetainedStore();
    store.set(message("r", bytes(6)));
    store.set(message("r", bytes(2), { qos: 0 }));
    expect(store.size).toBe(1);
    expect(store.get("r", 0)).toEqual(message("r", bytes(2), { qos: 0 }));
    store.set(message("r", new Uint8Array(0)));
    expect(store.size).toBe(0);
    expect(store.get("r", 0)).toBeUndefined();
    expect(store.match("#", 0)).toEqual([]);
  });

  test("an expired message is dropped when read", () => {
    const store = new RetainedStore();
    store.set(message("x/old", bytes(6), { expiresAt: 1_000 }));
    store.set(message("x/new", bytes(6), { expiresAt: 3_000 }));
    expect(store.match("x/#", 2_000).map((m) => m.topic)).toEqual(["x/new"]);
    expect(store.size).toBe(1);
    expect(store.get("x/new", 3_000)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  test("many small payloads read together share buffers; large ones keep their own", () => {
    const kept = Array.from({ length: 100 }, (_, i) => compactMessage(message(`m/${i}`, bytes(300))));
    kept.push(compactMessage(message("big", bytes(SMALL_PAYLOAD_BYTES + 1))));
    const read = toMessages(kept.map((_, i) => (i < 100 ? `m/${i}` : "big")), kept);
    const buffers = new Set(read.map((m) => m.payload.buffer));
    expect(buffers.size).toBeLessThan(10);
    expect(read.every((m, i) => m.payload.length === (i < 100 ? 300 : SMALL_PAYLOAD_BYTES + 1))).toBe(true);
    expect(read.slice(0, 100).map((m) => m.payload)).toEqual(kept.slice(0, 100).map(() => bytes(300)));
  });

  for (const qos of [0, 1, 2] as const) {
    for (const [what, origin] of [["no publisher", undefined], ["an empty client id", ""], ["a 65,534-char client id", "c".repeat(65_534)], ["a 65,535-char client id", "é".repeat(65_535)]] as const) {
      test(`QoS ${qos} with ${what} comes back the same`, () => {
        const store = new RetainedStore();
        const original = message("q", bytes(6), { qos, origin });
        if (origin === undefined) delete original.origin;
        store.set(original);
        expect(store.get("q", 0)).toEqual(original);
        expect(store.match("#", 0)).toEqual([original]);
      });
    }
  }
});
