/**
 * A bridge's configuration turned into what it needs: the upstream endpoint from its URL, the
 * problems with its rules (in the configuration's words), and whether out and in rules overlap
 * (then a 3.1.1 upstream would echo our own messages back).
 */
import type { BridgeConfig } from "../config/schema.ts";
import type { DialKind } from "../ports/dial.ts";
import { checkMapping, type TopicMapping } from "./topics.ts";

/** Upstream endpoint from the bridge's URL. */
export function parseUrl(url: string): { kind: DialKind; host: string; port: number; path: string } {
  const u = new URL(url);
  const scheme = u.protocol.replace(":", "");
  const kind = ({ mqtt: "tcp", mqtts: "tls", ws: "ws", wss: "wss" } as const)[scheme as "mqtt"];
  const defaultPort = { tcp: 1883, tls: 8883, ws: 80, wss: 443 }[kind];
  const host = u.hostname.replace(/^\[|\]$/g, "");
  return { kind, host, port: u.port ? Number(u.port) : defaultPort, path: u.pathname && u.pathname !== "/" ? u.pathname : "/mqtt" };
}

/** Problems with a bridge's rules, in the config's words (empty when fine). */
export function checkRules(config: BridgeConfig): string[] {
  const problems: string[] = [];
  config.out.forEach((r, i) => {
    const p = checkMapping(r.local, r.remote ?? r.local);
    if (p) problems.push(`bridges ${config.name}: out[${i}]: ${p}`);
  });
  config.in.forEach((r, i) => {
    const p = checkMapping(r.remote, r.local ?? r.remote);
    if (p) problems.push(`bridges ${config.name}: in[${i}]: ${p}`);
  });
  return problems;
}

/** Does some out rule's upstream topic fall under some in rule's filter? */
export function rulesOverlap(out: readonly TopicMapping[], into: readonly TopicMapping[]): boolean {
  return out.some((o) => into.some((i) => overlaps(o.to, i.from)));
}

/** Can some topic match both filters? (Conservative: true unless a fixed level differs.) */
function overlaps(a: string, b: string): boolean {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === "#" || y[i] === "#") return true;
    if (x[i] === undefined || y[i] === undefined) return false;
    if (x[i] !== "+" && y[i] !== "+" && x[i] !== y[i]) return false;
  }
  return true;
}
