#!/usr/bin/env bash
# Installs what is missing: system packages, uv, and the .venv synced from requirements.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(git haproxy prometheus chromium docker-registry)
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  case "$pkg" in
    chromium) command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=("$pkg") ;;
    *) command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;;
  esac
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages: ${missing[*]}" >&2
    echo "bootstrap: install them with your package manager, e.g. 'sudo apt-get install ${missing[*]}', then rerun." >&2
    exit 1
  fi
fi

UV="$(command -v uv || true)"
if [ -z "$UV" ]; then
  if [ -x "$HOME/.local/bin/uv" ]; then
    UV="$HOME/.local/bin/uv"
  else
    echo "bootstrap: installing uv for this user"
    python3 -m pip install --user --quiet uv
    UV="$HOME/.local/bin/uv"
  fi
fi

# Bytecode is written ahead of time: with PYTHONDONTWRITEBYTECODE set, every server a test starts
# would otherwise compile the engine and its libraries again (about 4x slower to start).
compile_sources() {
  .venv/bin/python -m compileall -q -j 0 app/src pipeline/src checks/src >/dev/null
}

stamp=.venv/.synced
inputs=(requirements.lock app/pyproject.toml pipeline/pyproject.toml checks/pyproject.toml)
if [ -f "$stamp" ]; then
  fresh=1
  for f in "${inputs[@]}"; do [ "$f" -nt "$stamp" ] && fresh=0; done
  if [ "$fresh" = 1 ]; then compile_sources; exit 0; fi
fi
[ -x .venv/bin/python ] || "$UV" venv --quiet --python 3.11 .venv
"$UV" pip sync --quiet --compile-bytecode --python .venv/bin/python requirements.lock
"$UV" pip install --quiet --python .venv/bin/python --no-deps -e ./app -e ./pipeline -e ./checks
compile_sources
touch "$stamp"
