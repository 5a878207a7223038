/**
 * Loaded by bun test before every test file (bunfig.toml [test] preload). A global afterAll here runs
 * once, after the last file: it removes the executables and packages that test/executable/ and
 * test/packaging/ shared (test/helpers/release-build.ts).
 */
import { afterAll } from "bun:test";
import { removeReleaseBuild } from "./helpers/release-build.ts";

afterAll(() => removeReleaseBuild());
