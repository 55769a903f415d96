# Shared by scripts/*: run on Python 3.14 and keep one virtualenv per Home Assistant release.
# Usage: source scripts/_env.sh "$@"; then use_venv NAME (see VENVS below).
#
# Home Assistant 2026.3 and newer need Python >= 3.14.2. Where the machine has none, the calling
# script runs again inside a Debian testing root that has it (built once with debootstrap, kept in
# $PLEX_LINK_ROOTFS), in a mount namespace of its own: every mount ends with the script, however
# it ends.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOTFS="${PLEX_LINK_ROOTFS:-${XDG_CACHE_HOME:-$HOME/.cache}/plex-link/debian-forky}"
# What the root holds: Python 3.14, and a compiler for the few Home Assistant 2026.11 requirements
# that publish no wheel for it (pymicro-vad, pyspeex-noise).
ROOTFS_PACKAGES=python3.14,python3.14-venv,python3.14-dev,g++,ca-certificates
cd "$ROOT"

# name -> requirements file. newest: Home Assistant 2026.11 itself (develop, end to end, mypy,
# benchmarks); tests: the newest test package; tests-oldest: the oldest supported release.
declare -A VENVS=(
  [newest]=requirements_newest.txt
  [tests]=requirements_test.txt
  [tests-oldest]=requirements_test_oldest.txt
)

python_ok() {
  "$1" -c 'import sys; sys.exit(sys.version_info < (3, 14, 2))' 2>/dev/null
}

find_python() {
  local candidate
  for candidate in python3.14 python3; do
    if command -v "$candidate" >/dev/null && python_ok "$(command -v "$candidate")"; then
      command -v "$candidate"
      return
    fi
  done
  return 1
}

fail() {
  echo "$*" >&2
  exit 1
}

build_rootfs() {
  case "$ROOTFS" in /|"") fail "PLEX_LINK_ROOTFS must name a folder of its own, not '$ROOTFS'." ;; esac
  [ "$(id -u)" = 0 ] || fail "This machine has no Python >= 3.14.2. Install it (Home Assistant 2026.3+ needs it) or run this as root, so that a Debian testing root with Python 3.14 can be built in $ROOTFS."
  if ! command -v debootstrap >/dev/null; then
    echo "Installing debootstrap"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >/dev/null 2>&1 \
      || fail "This machine has no Python >= 3.14.2 and debootstrap could not be installed; install Python 3.14 or debootstrap."
  fi
  echo "Building a Debian testing root with Python 3.14 in $ROOTFS (about a minute, once)"
  rm -rf "$ROOTFS" "$ROOTFS.partial"
  mkdir -p "$ROOTFS.partial"
  debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" \
    forky "$ROOTFS.partial" http://deb.debian.org/debian /usr/share/debootstrap/scripts/sid \
    >"$ROOTFS.partial.log" 2>&1 || { tail -20 "$ROOTFS.partial.log" >&2; fail "debootstrap failed; the log is $ROOTFS.partial.log"; }
  echo "$ROOTFS_PACKAGES" >"$ROOTFS.partial/.plex-link-packages"
  mv "$ROOTFS.partial" "$ROOTFS"
}

# Run the calling script again inside the Debian root, unless Python 3.14 is here already.
enter_python314() {
  if [ -n "${PLEX_LINK_IN_ROOTFS:-}" ] || find_python >/dev/null; then
    return
  fi
  [ "$(cat "$ROOTFS/.plex-link-packages" 2>/dev/null)" = "$ROOTFS_PACKAGES" ] || build_rootfs
  cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$ROOTFS$ROOT"
  local script
  script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
  exec unshare --mount --propagation private -- /bin/bash -euc '
    rootfs=$1 root=$2; shift 2
    mount -t proc proc "$rootfs/proc"
    mount -t sysfs sysfs "$rootfs/sys"
    mount --rbind /dev "$rootfs/dev"
    mount --bind "$root" "$rootfs$root"
    exec chroot "$rootfs" /usr/bin/env PLEX_LINK_IN_ROOTFS=1 HOME=/root \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
  ' _ "$ROOTFS" "$ROOT" "$script" "$@"
}

# Create (or bring up to date) .venv/NAME from its requirements file and put it first on PATH.
use_venv() {
  local name=$1 requirements=${VENVS[$1]} venv="$ROOT/.venv/$1" python stamp
  [ ! -f "$ROOT/.venv/pyvenv.cfg" ] || rm -rf "$ROOT/.venv"  # the single venv of earlier releases
  if [ ! -x "$venv/bin/python" ] || ! python_ok "$venv/bin/python"; then
    python="$(find_python)" || fail "No Python >= 3.14.2 found."
    echo "Creating .venv/$name with $("$python" --version)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
  fi
  stamp="$venv/.installed"
  if [ ! -f "$stamp" ] || ! cmp -s "$stamp" "$requirements"; then
    echo "Installing $requirements into .venv/$name (a few minutes the first time)"
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check -r "$requirements" \
      >"$venv/pip.log" 2>&1; then
      grep -v "^WARNING: Location" "$venv/pip.log" | tail -30 >&2
      fail "pip failed; the whole log is in .venv/$name/pip.log"
    fi
    cp "$requirements" "$stamp"
  fi
  export PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv"
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] && return
  [ "$(id -u)" = 0 ] || fail "The end-to-end tests need Debian's chromium: apt-get install chromium"
  echo "Installing Debian's chromium for the end-to-end tests"
  mkdir -p "$ROOT/.venv"
  if ! { apt-get -o Acquire::Check-Valid-Until=false update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } \
    >"$ROOT/.venv/apt.log" 2>&1; then
    tail -20 "$ROOT/.venv/apt.log" >&2
    fail "Could not install chromium; the whole log is in .venv/apt.log"
  fi
}

enter_python314 "$@"
