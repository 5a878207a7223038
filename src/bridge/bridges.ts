/**
 * The set of bridges of one broker: started from the configuration, changed on reload (a bridge
 * whose settings changed is restarted and keeps its local session, so its queue), status for the
 * admin API, and `$SYS/broker/bridges/<name>/...` topics (plus Mosquitto's
 * `$SYS/broker/connection/<name>/state`, 1 connected / 0 not, for existing dashboards).
 */
import type { BridgeConfig } from "../config/schema.ts";
import type { PublishOptions } from "../core/broker-api.ts";
import { Bridge, type BridgeDeps, type BridgeSecrets, type BridgeStatus } from "./bridge.ts";
import { checkRules } from "./rules.ts";

export interface BridgeSetup {
  config: BridgeConfig;
  secrets: BridgeSecrets;
}

export interface BridgesDeps extends BridgeDeps {
  /** Publish on the local broker ($SYS topics). */
  publish(options: PublishOptions): number;
  /** Seconds between full $SYS updates (0: no $SYS). State changes go out within a second. */
  sysInterval: number;
}

export interface BridgesChange {
  added: string[];
  changed: string[];
  removed: string[];
}

export class Bridges {
  private readonly running = new Map<string, { bridge: Bridge; key: string }>();
  private readonly lastState = new Map<string, string>();
  private timer: unknown = null;
  private ticks = 0;

  constructor(private readonly deps: BridgesDeps) {
    if (deps.sysInterval > 0) this.timer = deps.clock.setInterval(() => this.tick(), 1000);
  }

  /** Problems that keep these bridges from starting (the configuration's words). */
  static check(setups: readonly BridgeSetup[]): string[] {
    return setups.flatMap((s) => checkRules(s.config));
  }

  /** Start, restart and stop bridges so that the running set is `setups`. */
  apply(setups: readonly BridgeSetup[]): BridgesChange {
    const change: BridgesChange = { added: [], changed: [], removed: [] };
    const wanted = new Map(setups.map((s) => [s.config.name, s]));
    for (const [name, { bridge }] of this.running) {
      if (wanted.has(name)) continue;
      bridge.unsubscribeExcept(new Set(), bridge.config); // nothing more queues for it
      bridge.stop();
      this.running.delete(name);
      this.lastState.delete(name);
      change.removed.push(name);
      this.deps.logger.info("bridge removed", { bridge: name });
    }
    for (const setup of setups) {
      const key = JSON.stringify(setup);
      const current = this.running.get(setup.config.name);
      if (current?.key === key) continue;
      if (current) {
        current.bridge.unsubscribeExcept(new Set(setup.config.out.map((r) => r.local)), current.bridge.config);
        current.bridge.stop();
        change.changed.push(setup.config.name);
      } else {
        change.added.push(setup.config.name);
      }
      const bridge = new Bridge(setup.config, setup.secrets, this.deps);
      this.running.set(setup.config.name, { bridge, key });
      bridge.start();
    }
    return change;
  }

  /** Status of every bridge, for the admin API and /metrics. */
  status(): BridgeStatus[] {
    return [...this.running.values()].map(({ bridge }) => bridge.status());
  }

  stop(): void {
    this.deps.clock.clearInterval(this.timer);
    for (const { bridge } of this.running.values()) bridge.stop();
    this.running.clear();
  }

  private tick(): void {
    this.ticks++;
    const full = this.ticks % this.deps.sysInterval === 0;
    for (const status of this.status()) {
      if (!full && this.lastState.get(status.name) === status.state) continue;
      this.lastState.set(status.name, status.state);
      this.publishStatus(status);
    }
  }

  private publishStatus(s: BridgeStatus): void {
    const put = (topic: string, value: string | number) =>
      this.deps.publish({ topic: `$SYS/broker/bridges/${s.name}/${topic}`, payload: String(value), retain: true });
    put("state", s.state);
    put("since", new Date(s.since).toISOString());
    put("lastError", s.lastError ?? "");
    put("queued", s.queued);
    put("queuedBytes", s.queuedBytes);
    put("inflight", s.inflight);
    put("oldestQueuedAge", s.oldestQueuedAge);
    put("forwarded", s.forwarded);
    put("received", s.received);
    put("dropped", s.dropped);
    this.deps.publish({
      topic: `$SYS/broker/connection/${s.name}/state`,
      payload: s.state === "connected" ? "1" : "0",
      retain: true,
    });
  }
}
