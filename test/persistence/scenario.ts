/** The shape of a restart scenario (test/persistence/_scenarios-*.ts, run by restart.test.ts). */
import type { RunningBroker } from "../helpers/broker.ts";
import type { RawClient } from "../helpers/raw.ts";

/** What a scenario checks on the restarted broker. */
export interface Checks {
  /** Run right after the restart, before any test (e.g. to watch for a will). */
  resumed?(b: RunningBroker): Promise<void>;
  verify(b: RunningBroker): Promise<void>;
}

/** Prepares state on the first broker; its checks run on the restarted one. */
export interface Scenario {
  name: string;
  prepare(b: RunningBroker): Promise<Checks>;
}

/** Raw connections a scenario leaves open across the stop (as at a power cut); closed after the restart. */
export const leftOpen: RawClient[] = [];
