/**
 * What /readyz waits for. serve() requires "listeners"; whoever opens the store requires "store"
 * before and marks it done once the store is loaded. Shutting down makes the process not ready.
 */
import type { ReadinessState } from "../admin/mod.ts";

export class Readiness {
  private readonly pending = new Set<string>();
  private stopping = false;

  require(name: string): void {
    this.pending.add(name);
  }

  done(name: string): void {
    this.pending.delete(name);
  }

  shuttingDown(): void {
    this.stopping = true;
  }

  get state(): ReadinessState {
    if (this.stopping) return { ready: false, waitingFor: ["shutting down"] };
    return { ready: this.pending.size === 0, waitingFor: [...this.pending] };
  }
}
