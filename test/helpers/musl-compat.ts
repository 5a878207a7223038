/**
 * Running Bun's x64 musl build on Debian. Debian's `musl` package gives the loader
 * (/lib/ld-musl-x86_64.so.1) but no musl-built libstdc++ and libgcc_s, which Bun's musl runtime
 * links against (Alpine: `apk add libstdc++ libgcc`). This stands in for those two packages:
 * Debian's own libstdc++.so.6 and libgcc_s.so.1, plus a tiny library compiled with musl-gcc that
 * provides the seven glibc-only symbols they reference (arc4random, __strftime_l, ...), named
 * ld-linux-x86-64.so.2 because libgcc_s asks for that. Everything else (the executable, Bun, the
 * C library) is musl. Returns a directory for LD_LIBRARY_PATH.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SHIM = `
#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
char __libc_single_threaded = 0;
uint32_t arc4random(void) { uint32_t v = 0; getrandom(&v, sizeof v, 0); return v; }
size_t __strftime_l(char *s, size_t n, const char *f, const struct tm *t, locale_t l) { return strftime_l(s, n, f, t, l); }
/* thread_local destructors of threads that exit: not registered (the broker's threads live as long as it). */
int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso) { (void)dtor; (void)obj; (void)dso; return 0; }
/* "not found": libgcc's unwinder then falls back to dl_iterate_phdr, which musl has. */
int _dl_find_object(void *pc, void *result) { (void)pc; (void)result; return -1; }
struct { unsigned vendor, type, subtype; unsigned features[1]; } __cpu_model;
int __cpu_indicator_init(void) { return 0; }
`;

export const MUSL_LOADER = "/lib/ld-musl-x86_64.so.1";
const GNU_LIBS = "/usr/lib/x86_64-linux-gnu";

export function muslLibraryPath(): string {
  if (!existsSync(MUSL_LOADER)) throw new Error(`${MUSL_LOADER} is missing: run test/prepare.sh (Debian's musl package)`);
  const dir = mkdtempSync(join(tmpdir(), "gannet-musl-libs-"));
  writeFileSync(join(dir, "shim.c"), SHIM);
  const cc = spawnSync("musl-gcc", ["-shared", "-fPIC", "-O2", "-o", join(dir, "ld-linux-x86-64.so.2"), join(dir, "shim.c")], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`musl-gcc failed (run test/prepare.sh: musl-tools, gcc): ${cc.error?.message ?? ""}${cc.stderr}`);
  for (const lib of ["libstdc++.so.6", "libgcc_s.so.1"]) copyFileSync(join(GNU_LIBS, lib), join(dir, lib));
  return dir;
}
