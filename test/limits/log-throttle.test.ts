/** Repetitive refusal log lines are bounded per connection; the count of the ones left out is not lost. */
import { expect, test } from "bun:test";
import { LogThrottle } from "../../src/util/log-throttle.ts";
import type { LogFields, Logger } from "../../src/ports/logger.ts";
import { FakeClock } from "../helpers/fake-clock.ts";

function recorder(): Logger & { lines: Array<[string, LogFields | undefined]> } {
  const lines: Array<[string, LogFields | undefined]> = [];
  const logger: Logger = {
    debug: () => {},
    info: (msg, fields) => void lines.push([msg, fields]),
    warn: () => {},
    error: () => {},
    child: () => logger,
  };
  return Object.assign(logger, { lines });
}

test("the first `burst` lines of a window are written; the next written line carries how many were left out", () => {
  const clock = new FakeClock();
  const log = recorder();
  const throttle = new LogThrottle(clock, 3, 1000);
  for (let i = 0; i < 10; i++) throttle.info(log, "publish denied", { i });
  expect(log.lines.map(([, f]) => f?.i)).toEqual([0, 1, 2]);
  clock.advance(1000);
  throttle.info(log, "publish denied", { i: 10 });
  expect(log.lines.at(-1)).toEqual(["publish denied", { i: 10, suppressed: 7 }]);
  throttle.info(log, "publish denied", { i: 11 });
  expect(log.lines.at(-1)).toEqual(["publish denied", { i: 11 }]);
});
