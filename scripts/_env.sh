# Shared by scripts/*: find Python >= 3.13, create or reuse .venv, install requirements.
# Usage: source scripts/_env.sh [requirements file]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
cd "$ROOT"

python_ok() {
  "$1" -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null
}

find_python() {
  local candidate
  for candidate in python3.14 python3.13 python3; do
    if command -v "$candidate" >/dev/null && python_ok "$(command -v "$candidate")"; then
      command -v "$candidate"
      return
    fi
  done
  if command -v pyenv >/dev/null; then
    for candidate in "$(pyenv root)"/versions/3.1[3-9]*/bin/python3; do
      if [ -x "$candidate" ] && python_ok "$candidate"; then
        echo "$candidate"
        return
      fi
    done
  fi
  return 1
}

ensure_venv() {
  local requirements="${1:-requirements_test.txt}" python stamp
  if [ ! -x "$VENV/bin/python" ] || ! python_ok "$VENV/bin/python"; then
    if ! python="$(find_python)"; then
      echo "Plex Link needs Python 3.13 or newer (Home Assistant 2025.4 runs on it)." >&2
      echo "Install it (for example: pyenv install 3.13) and run this again." >&2
      exit 1
    fi
    echo "Creating .venv with $("$python" --version) ($python)"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
  fi
  stamp="$VENV/.installed-$(basename "$requirements")"
  if [ ! -f "$stamp" ] || ! cmp -s "$stamp" <(cat "$requirements" requirements_test.txt); then
    echo "Installing $requirements into .venv (Home Assistant takes a few minutes the first time)"
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -r "$requirements" \
      >"$VENV/pip.log" 2>&1; then
      grep -v "^WARNING: Location" "$VENV/pip.log" | tail -30 >&2
      echo "pip failed; the whole log is in .venv/pip.log" >&2
      exit 1
    fi
    cat "$requirements" requirements_test.txt >"$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then
    return
  fi
  echo "Installing Debian's chromium for the end-to-end tests"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } \
    >"$VENV/apt.log" 2>&1; then
    tail -20 "$VENV/apt.log" >&2
    echo "Could not install chromium (needs root or sudo); the whole log is in .venv/apt.log" >&2
    exit 1
  fi
}
