/** The memory store: nothing survives a restart (`persistence: memory`, and tests). */
import type { LoadedState, Store } from "./types.ts";

const done = Promise.resolve();

export class MemoryStore implements Store {
  readonly durable = false;
  load(): Promise<LoadedState> {
    return Promise.resolve({ sessions: [], retained: [] });
  }
  saveSession(): void {}
  deleteSession(): void {}
  saveSubscription(): void {}
  deleteSubscription(): void {}
  saveDelivery(): void {}
  deleteDelivery(): void {}
  saveAwaitingRelease(): void {}
  deleteAwaitingRelease(): void {}
  saveWill(): void {}
  deleteWill(): void {}
  saveRetained(): void {}
  deleteRetained(): void {}
  commit(): Promise<void> {
    return done;
  }
  close(): Promise<void> {
    return done;
  }
}
