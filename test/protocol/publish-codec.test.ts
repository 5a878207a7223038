/**
 * The hot-path PUBLISH codec (src/protocol/publish-decoder.ts, publish-encoder.ts, acks.ts) against
 * mqtt-packet, with its shortcuts in play: the decoder's ASCII path and one-entry topic cache, the
 * encoder's ASCII topic copy, and outgoing packets carved from shared slabs (src/util/bytes.ts, as
 * the Deno adapter sets it).
 */
import { afterAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt-packet";
import { encodeAck } from "../../src/protocol/acks.ts";
import { decodePublish } from "../../src/protocol/publish-decoder.ts";
import { encodePublish } from "../../src/protocol/publish-encoder.ts";
import { ProtocolError } from "../../src/protocol/reason-codes.ts";
import { allocatePacketsFromSlabs } from "../../src/util/bytes.ts";
import { rawPublishBytes } from "../helpers/raw.ts";

const topic = (bytes: number[] | string) => decodePublish(rawPublishBytes(Buffer.from(bytes as never), Buffer.from("p")), 4).topic;

describe("PUBLISH topic decoding", () => {
  test("[3.1.1 MQTT-1.5.3-1] [v5 MQTT-1.5.4-1] repeated, changed and non-ASCII topics decode to their own strings", () => {
    expect(["a/b", "a/b", "a/c", "a/cd", "a/c", "zähler/°C", "a/c", "", "x", "x"].map((t) => topic(t)))
      .toEqual(["a/b", "a/b", "a/c", "a/cd", "a/c", "zähler/°C", "a/c", "", "x", "x"]);
  });

  test("[3.1.1 MQTT-1.5.3-2] [v5 MQTT-1.5.4-2] U+0000 is refused, also right after the same topic without it", () => {
    expect(topic("ab")).toBe("ab");
    expect(() => topic([0x61, 0x00])).toThrow(ProtocolError);
    expect(() => topic([0x00])).toThrow(ProtocolError);
    expect(topic("ab")).toBe("ab");
  });

  test("[3.1.1 MQTT-1.5.3-1] [v5 MQTT-1.5.4-1] invalid UTF-8 after a cached ASCII topic is still refused", () => {
    expect(topic("a(")).toBe("a(");
    expect(() => topic([0xc3, 0x28])).toThrow(ProtocolError);
  });

  test("a 70-byte ASCII topic (past the cache's length) decodes", () => {
    const long = "t/".padEnd(70, "x");
    expect(topic(long)).toBe(long);
    expect(topic(long)).toBe(long);
  });
});

describe("PUBLISH and ack encoding, plain and from slabs", () => {
  afterAll(() => allocatePacketsFromSlabs(false));
  for (const slabs of [false, true]) {
    test(`${slabs ? "slabs" : "plain arrays"}: bytes equal mqtt-packet's for 3.1.1 and v5, ASCII and not, and consecutive packets do not share bytes`, () => {
      allocatePacketsFromSlabs(slabs);
      const out: Uint8Array[] = [];
      const expected: Buffer[] = [];
      for (const version of [4, 5]) {
        for (const t of ["bench/1", "zähler/°C/温度", ""]) {
          const payload = Buffer.from(`payload of ${t}`);
          out.push(encodePublish({ topic: t || "x", payload, qos: 1, retain: false, dup: false, packetId: 7 }, version));
          expected.push(mqtt.generate({ cmd: "publish", topic: t || "x", payload, qos: 1, messageId: 7, retain: false, dup: false }, { protocolVersion: version }));
        }
        out.push(encodeAck("puback", 300, 0, version));
        expected.push(mqtt.generate({ cmd: "puback", messageId: 300, reasonCode: 0 }, { protocolVersion: version }));
      }
      out.push(encodeAck("pubrec", 9, 0x80, 5));
      // mqtt-packet adds a Property Length of 0; without it (Remaining Length 3) is as valid [v5 §3.5.2.2].
      expected.push(Buffer.from([0x50, 3, 0, 9, 0x80]));
      const copies = out.map((b) => Buffer.from(b));
      expect(copies).toEqual(expected);
      out.forEach((b, i) => b.fill(i + 1)); // writing one packet must not change another
      expect(out.map((b, i) => b.every((x) => x === i + 1))).toEqual(out.map(() => true));
    });
  }
});
