/**
 * RLIMIT_NOFILE on Deno: /proc/self/limits needs --allow-all there, so ask libc through FFI
 * (--allow-ffi, which the SQLite store needs anyway). Undefined without the permission or glibc.
 */
const RLIMIT_NOFILE = 7; // Linux, every architecture Gannet ships for

export function openFilesLimit(): number | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    const libc = Deno.dlopen("libc.so.6", { getrlimit: { parameters: ["i32", "buffer"], result: "i32" } });
    try {
      const limits = new BigUint64Array(2); // struct rlimit { rlim_cur, rlim_max }
      if (libc.symbols.getrlimit(RLIMIT_NOFILE, new Uint8Array(limits.buffer)) !== 0) return undefined;
      return limits[0] < 0xffff_ffffn ? Number(limits[0]) : undefined; // RLIM_INFINITY: no limit
    } finally {
      libc.close();
    }
  } catch {
    return undefined; // no --allow-ffi, or not glibc
  }
}
