#!/usr/bin/env bash
# Installs the real parts the tests talk to (OpenSSH server and client, Prometheus) from Debian when missing.
# `npm test` runs it once by itself when it may (root, or sudo without a password). Chromium needs no install:
# npm ci brings one (@sparticuz/chromium), used when no system Chromium is on PATH.
# Safe to run again; needs root (or sudo) only when something is missing. `--check` only lists what is missing.
set -euo pipefail

# Looked for where the test helpers look (test/helpers/real-parts.ts): sshd and prometheus at Debian's paths
# (prometheus at $PROMETHEUS_BIN when set), ssh-keygen on PATH.
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
[ -x "${PROMETHEUS_BIN:-/usr/bin/prometheus}" ] || need+=(prometheus)

# --check: print the missing packages (one line, space-separated) and install nothing; exit 1 when any is missing.
if [ "${1:-}" = "--check" ]; then
  echo "${need[*]}"
  [ ${#need[@]} -eq 0 ]
  exit
fi

if [ ${#need[@]} -eq 0 ]; then
  echo "install-deps: sshd, ssh-keygen and prometheus are present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-install-recommends keeps Prometheus from pulling in node-exporter and friends.
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts services on install where it can; the tests start their own on loopback.
for svc in prometheus ssh; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "install-deps: done"
