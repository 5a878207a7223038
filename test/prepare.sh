#!/usr/bin/env bash
# Installs the Debian packages the tests and the benchmark need, when they are missing:
#   mosquitto-clients  mosquitto_pub / mosquitto_sub (interop tests)
#   mosquitto          the reference broker (bench/compare.ts)
#   qemu-user-static, libc6-arm64-cross   run the ARM64 executable (test/executable/)
#   openssl            test certificates for the TLS tests (test/security/)
#   binutils           readelf: what each executable is built on (test/executable/)
#   musl, musl-tools, gcc   run the x64 musl executables (test/helpers/musl-compat.ts)
#   systemd            systemd-notify (readiness, test/systemd/), systemd-analyze (the .deb test)
#   lintian, strace, adduser, init-system-helpers   the .deb test (test/packaging/)
#   prometheus         promtool, which checks the /metrics output (test/admin/)
#   chromium           the browser the console tests drive with playwright-core (test/browser/)
# Idempotent and quiet. Runs `apt-get update` only when an install fails without it.
# Fails loudly when the packages cannot be installed.
set -euo pipefail

missing=()
command -v mosquitto_pub >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
[ -x /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || missing+=(libc6-arm64-cross)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
[ -e /lib/ld-musl-x86_64.so.1 ] || missing+=(musl)
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v systemd-notify >/dev/null 2>&1 && command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v adduser >/dev/null 2>&1 || missing+=(adduser)
command -v deb-systemd-helper >/dev/null 2>&1 || missing+=(init-system-helpers)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "test/prepare.sh: missing ${missing[*]} and apt-get is not available; install them by hand" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo -n)
  else
    echo "test/prepare.sh: missing ${missing[*]}; not root and no sudo to install them" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
install() {
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1
}
if ! install; then
  if ! "${sudo[@]}" apt-get update -q >>"$log" 2>&1 || ! install; then
    cat "$log" >&2
    echo "test/prepare.sh: could not install ${missing[*]} with apt-get" >&2
    exit 1
  fi
fi

command -v mosquitto_pub >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1 && [ -x /usr/sbin/mosquitto ] || {
  cat "$log" >&2
  echo "test/prepare.sh: installed ${missing[*]} but mosquitto_pub, mosquitto_sub or /usr/sbin/mosquitto is still missing" >&2
  exit 1
}
echo "test/prepare.sh: installed ${missing[*]}"
