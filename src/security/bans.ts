/**
 * Bans: by client id, user name or address (IP or CIDR block), with an expiry. The list lives in
 * the store (the CLI adds and lifts bans there) and is cached here, reloaded every
 * `bans.refreshInterval` seconds and on SIGHUP, so checking a connection costs no I/O.
 *
 * Automatic bans: a client id that connects more than `flapping.threshold` times within
 * `flapping.window` seconds, and an address with `authFailures.threshold` failed authentications
 * within `authFailures.window`, are banned for `duration` seconds. Counting uses fixed windows per
 * key, and the number of keys tracked is bounded, so random client ids cannot grow memory.
 */
import type { BansConfig } from "../config/schema.ts";
import type { Logger } from "../ports/logger.ts";
import { type AddressBlock, blockContains, parseAddressBlock } from "./address.ts";
import type { Ban, BanKind, SecurityStore } from "./types.ts";

export interface BanSubject {
  clientId?: string;
  username?: string;
  address?: string;
}

/** Most keys one counter tracks; beyond it the oldest windows are forgotten first. */
const MAX_TRACKED = 100_000;

/** Events per key within a fixed window; `hit` says whether the key just crossed the threshold. */
export class WindowCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly threshold: number, private readonly windowMs: number) {}

  /** Count one event; true exactly when this event brings the count to the threshold. */
  hit(key: string, now: number): boolean {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.windows.delete(key); // re-inserted last: Map order is then oldest window first
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      if (this.windows.size > MAX_TRACKED) this.windows.delete(this.windows.keys().next().value as string);
    }
    w.count++;
    return w.count === this.threshold;
  }

  forget(key: string): void {
    this.windows.delete(key);
  }

  prune(now: number): void {
    for (const [key, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }
}

interface CachedBan extends Ban {
  block?: AddressBlock;
}

function withBlock(ban: Ban): CachedBan {
  const block = parseAddressBlock(ban.value);
  return "problem" in block ? ban : { ...ban, block };
}

export class BanList {
  private bans: CachedBan[] = [];
  private flapping: WindowCounter | undefined;
  private authFailures: WindowCounter | undefined;
  private config!: BansConfig;

  constructor(private readonly store: SecurityStore, private readonly logger: Logger, config: BansConfig) {
    this.configure(config);
  }

  configure(config: BansConfig): void {
    this.config = config;
    const { flapping, authFailures } = config;
    // A connect beyond the threshold is what flapping means; the threshold-th failure already bans.
    this.flapping = flapping.enabled ? new WindowCounter(flapping.threshold + 1, flapping.window * 1000) : undefined;
    this.authFailures = authFailures.enabled ? new WindowCounter(authFailures.threshold, authFailures.window * 1000) : undefined;
  }

  /** Reload from the store (bans added or lifted by the CLI) and forget expired ones. */
  async refresh(now: number): Promise<void> {
    await this.store.deleteExpiredBans(now); // keeps the table to the bans in force
    const stored = await this.store.listBans(now);
    this.bans = stored.map((ban) => (ban.kind === "address" ? withBlock(ban) : ban));
    this.flapping?.prune(now);
    this.authFailures?.prune(now);
  }

  get size(): number {
    return this.bans.length;
  }

  /** The ban in force on this subject, if any. */
  find(subject: BanSubject, now: number): Ban | undefined {
    if (this.bans.length === 0) return undefined;
    for (const ban of this.bans) {
      if (ban.expiresAt !== null && ban.expiresAt <= now) continue;
      if (ban.kind === "clientId" && ban.value === subject.clientId) return ban;
      if (ban.kind === "username" && subject.username !== undefined && ban.value === subject.username) return ban;
      if (ban.kind === "address" && ban.block && subject.address !== undefined && blockContains(ban.block, subject.address)) {
        return ban;
      }
    }
    return undefined;
  }

  /** Count a CONNECT of this client id; returns the new ban when it is flapping. */
  connected(clientId: string, now: number): Ban | undefined {
    if (!this.flapping?.hit(clientId, now)) return undefined;
    const { threshold, window, duration } = this.config.flapping;
    return this.ban("clientId", clientId, `flapping: more than ${threshold} connects in ${window} s`, duration, now);
  }

  /** Count a failed authentication from this address; returns the new ban when there were too many. */
  authenticationFailed(address: string, now: number): Ban | undefined {
    if (!this.authFailures?.hit(address, now)) return undefined;
    const { threshold, window, duration } = this.config.authFailures;
    return this.ban("address", address, `${threshold} failed authentications in ${window} s`, duration, now);
  }

  private ban(kind: BanKind, value: string, reason: string, seconds: number, now: number): Ban {
    const ban: Ban = { kind, value, reason, createdAt: now, expiresAt: now + seconds * 1000 };
    this.bans.push(kind === "address" ? withBlock(ban) : ban);
    this.logger.warn("banned", { kind, value, reason, seconds });
    this.store.addBan(ban).catch((e: unknown) => {
      this.logger.error("cannot store the ban (it holds until restart)", { kind, value, error: String(e) });
    });
    return ban;
  }
}
