/** The `bridges` section: defaults, units, clear problems, masking. */
import { describe, expect, test } from "bun:test";
import { maskSecrets } from "../../src/config/describe.ts";
import { loadConfig } from "../../src/config/load.ts";
import { parseDuration, parseSize } from "../../src/config/bridges.ts";

const file = (text: string) => ({ path: "/etc/gannet/gannet.yaml", text });

function load(yaml: string) {
  return loadConfig({ file: file(yaml) });
}

const minimal = `bridges:
  - name: cloud
    url: mqtt://127.0.0.1:1883
    out:
      - { local: "plant/#", remote: "site17/plant/#" }
`;

describe("bridges config", () => {
  test("a minimal bridge gets the documented defaults", () => {
    const result = load(minimal);
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.bridges).toEqual([{
      name: "cloud",
      url: "mqtt://127.0.0.1:1883",
      protocolVersion: 5,
      keepalive: 30,
      cleanStart: false,
      sessionExpiry: 86_400,
      out: [{ local: "plant/#", remote: "site17/plant/#", qos: 1, retain: true }],
      in: [],
      queue: { maxMessages: 1_000_000, maxBytes: "512MiB", maxAge: 0, whenFull: "dropOldest", qos0: false },
      reconnect: { min: "1s", max: "60s" },
      rate: 0,
      maxInflight: 100,
    }]);
  });

  test("durations and sizes take units", () => {
    const result = load(minimal + "    queue: { maxBytes: 64KiB, maxAge: 7d }\n    reconnect: { min: 500ms, max: 2 }\n");
    if (!result.ok) throw new Error(result.problems.join("\n"));
    const { queue, reconnect } = result.config.bridges[0];
    expect([parseSize(queue.maxBytes), parseDuration(queue.maxAge)]).toEqual([65_536, 7 * 86_400_000]);
    expect([parseDuration(reconnect.min), parseDuration(reconnect.max)]).toEqual([500, 2000]);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(parseSize("1GB")).toBe(1e9);
    expect(parseSize("12 parsecs")).toBeUndefined();
  });

  test("problems name the bridge key and say what is expected", () => {
    const bad = (yaml: string) => {
      const result = load(yaml);
      if (result.ok) throw new Error("expected a problem");
      return result.problems.join("\n");
    };
    expect(bad(minimal.replace("mqtt://127.0.0.1:1883", "http://x"))).toContain("bridges[0].url");
    expect(bad(minimal + "    queue: { maxAge: soon }\n")).toMatch(/bridges\[0\]\.queue\.maxAge.*duration like/);
    expect(bad(minimal + "    password: a\n    passwordFile: /x\n")).toContain("password or passwordFile");
    expect(bad(minimal + "    tls: { verify: false }\n")).toContain("tls needs an mqtts:// or wss:// url");
    expect(bad(minimal + minimal.replace("bridges:\n", ""))).toContain('bridge name "cloud" is used twice');
    expect(bad("bridges:\n  - name: x\n    url: mqtt://h\n")).toContain("at least one out or in rule");
  });

  test("config print masks the password but not the password file's path", () => {
    expect(maskSecrets({ bridges: [{ url: "mqtts://u:pw@h", password: "s3cret", passwordFile: "/etc/p" }] }))
      .toEqual({ bridges: [{ url: "mqtts://u:********@h", password: "********", passwordFile: "/etc/p" }] });
  });
});
