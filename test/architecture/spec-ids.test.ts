/**
 * Spec statement ids say which spec they come from: the same id means different rules in MQTT
 * 3.1.1 and 5.0 (3.1.1 MQTT-3.8.3-3 is not v5 MQTT-3.8.3-3), so an id without its version is
 * ambiguous, and a misremembered one is wrong in a way nobody notices.
 *
 * The rule, for every .ts file under test/ and src/ (comments, strings and test names alike):
 *   - A statement id is `MQTT-` followed by a digit. Every one must sit in a bracket of the form
 *       [v5 MQTT-1.2.3-4]        or      [3.1.1 MQTT-1.2.3-4]
 *     on one line: the version first (exactly `v5` or `3.1.1`, then one space), then the id with
 *     three section numbers and the statement number.
 *   - A bracket may list several ids of the same version, each written out in full, separated by
 *     a comma and a space: [v5 MQTT-3.3.2-13, MQTT-3.3.2-14]. Ids of different versions go in
 *     separate brackets: [v5 MQTT-3.1.2-22] [3.1.1 MQTT-3.1.2-24].
 *   - Test names built from variables must still contain the literal brackets (keep a table of
 *     per-version strings), so that this scan sees them.
 * Sections without a normative statement are cited as [§3.1.2.10] or [v5 §3.2.2.3.14]; they are
 * not checked here. This file is left out of the scan (it shows the forms it rejects).
 *
 * The same check from a shell (lists what breaks the rule as file:line:text):
 *   grep -rnP --include='*.ts' 'MQTT-\d' src test | grep -vP '^test/architecture/spec-ids\.test\.ts:' \
 *     | perl -ne 'print if s/\[(?:v5|3\.1\.1) MQTT-\d+\.\d+\.\d+-\d+(?:, MQTT-\d+\.\d+\.\d+-\d+)*\]//gr =~ /MQTT-\d/'
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname ?? ".", "..", "..");
const SELF = "test/architecture/spec-ids.test.ts";

/** A well-formed bracket of statement ids (see the rule above). */
const ID = String.raw`MQTT-\d+\.\d+\.\d+-\d+`;
const BRACKET = new RegExp(String.raw`\[(?:v5|3\.1\.1) ${ID}(?:, ${ID})*\]`, "g");
/** Anything that looks like a statement id. */
const ANY_ID = /MQTT-\d/;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) out.push(...filesUnder(path));
    else if (name.endsWith(".ts") || name.endsWith(".tsx")) out.push(path);
  }
  return out;
}

/** The ids on one line that break the rule (what is left after removing the well-formed brackets). */
function badIds(line: string): boolean {
  return ANY_ID.test(line.replace(BRACKET, ""));
}

/** `file:line: text` for every line of the files under `dir` with an id that breaks the rule. */
function violations(dir: string): string[] {
  const out: string[] = [];
  for (const file of filesUnder(dir)) {
    if (file === SELF) continue;
    readFileSync(join(root, file), "utf8").split("\n").forEach((line, i) => {
      if (badIds(line)) out.push(`${file}:${i + 1}: ${line.trim().slice(0, 160)}`);
    });
  }
  return out;
}

describe("spec statement ids carry their version", () => {
  // [line, breaks the rule]
  const table: Array<[string, boolean]> = [
    ["[v5 MQTT-3.3.1-9]", false],
    ["[3.1.1 MQTT-3.3.1-9]", false],
    ["[v5 MQTT-3.3.2-13, MQTT-3.3.2-14] and [3.1.1 MQTT-4.7.2-1]", false],
    ["[§3.1.2.10] a section, not a statement", false],
    ["[MQTT-3.3.1-9]", true], // no version
    ["(MQTT-4.13.1-1)", true], // not in a bracket
    ["[v3.1.1 MQTT-3.3.1-9]", true], // the version is `3.1.1`
    ["[V5 MQTT-3.3.1-9]", true],
    ["[v5  MQTT-3.3.1-9]", true], // one space
    ["[MQTT-3.3.1-9 v5]", true], // version first
    ["[v5 MQTT-3.9.3]", true], // a section number is not a statement id
    ["[v5 MQTT-4.7.1-2, -3]", true], // each id in full
    ["[v5 MQTT-3.3.1-9, 3.1.1 MQTT-3.3.1-9]", true], // one version per bracket
    ["[v5 MQTT-3.3.1-9] [MQTT-3.3.1-10]", true], // every bracket on the line counts
  ];
  for (const [line, bad] of table) {
    test(`${bad ? "rejects" : "accepts"} ${line}`, () => {
      expect(badIds(line)).toBe(bad);
    });
  }

  test("every statement id under test/ has its version, in the form [v5 MQTT-1.2.3-4] / [3.1.1 MQTT-1.2.3-4]", () => {
    expect(violations("test")).toEqual([]);
  });

  test("every statement id under src/ has its version, in the form [v5 MQTT-1.2.3-4] / [3.1.1 MQTT-1.2.3-4]", () => {
    expect(violations("src")).toEqual([]);
  });
});
