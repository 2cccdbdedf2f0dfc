#!/usr/bin/env bash
# Installs the Debian packages swift-vmcore builds and tests with, if any are missing.
# As root it runs apt-get; otherwise it prints the command to run and fails.
set -euo pipefail

packages=(pkg-config zlib1g-dev libzstd-dev liblzo2-dev libsnappy-dev zstd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# On a fresh machine another apt or dpkg run (cloud-init, unattended-upgrades) may hold apt's
# locks for minutes: wait for it, up to this many seconds, rather than fail.
lock_wait=600

# apt-get "$@", waiting for the locks. DPkg::Lock::Timeout makes apt itself wait for the dpkg
# locks (/var/lib/dpkg/lock-frontend and lock), which `apt-get install` takes. `apt-get update`
# takes only the package lists' lock (/var/lib/apt/lists/lock) and `install` also the download
# cache's (/var/cache/apt/archives/lock); apt tries those once and ignores the timeout (apt 2.6
# through 3.1: pkgAcquire::GetLock), so a run that failed on a lock is tried again.
apt_get() {
  local deadline=$((SECONDS + lock_wait)) err status
  err=$(mktemp)
  while :; do
    status=0
    # stderr through tee, to the terminal and to $err; stdout stays stdout (fd 3).
    { apt-get -o DPkg::Lock::Timeout="$lock_wait" "$@" 2>&1 1>&3 3>&- | tee "$err" >&2; } 3>&1 ||
      status=$?
    if [ "$status" -ne 0 ] && grep -qE "Could not get lock|Unable to lock" "$err" &&
       [ "$SECONDS" -lt "$deadline" ]; then
      echo "Another apt or dpkg run holds a lock; trying again in 5 s." >&2
      sleep 5
      continue
    fi
    rm -f "$err"
    return "$status"
  done
}

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installing missing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt_get update -qq
    apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Run:  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "No Swift toolchain on PATH: swift-vmcore needs Swift 6.0 or later (https://www.swift.org/install/linux/)." >&2
  exit 1
fi
