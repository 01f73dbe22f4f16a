#!/usr/bin/env bash
# Run the 14 command lines of the Kargo Configuration Guide, verbatim and in order, against a
# running pipeline (after `make demo`). <name> placeholders get real names from the server.
# Prints each line and its output; exits non-zero when any line fails. `kargo` is whatever the
# shell finds on PATH, as for a user typing the guide (`make demo` installs it there).
#
#   scripts/guide_commands.sh            # against KARGO_SERVER or http://127.0.0.1:8080
#   WORK_DIR=/tmp/x scripts/guide_commands.sh   # where promotion-debug.yaml is written
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK_DIR="${WORK_DIR:-$(mktemp -d)}"
mkdir -p "$WORK_DIR"
cd "$WORK_DIR" || exit 1

if ! command -v kargo >/dev/null; then
    echo "guide_commands: no kargo command on PATH; \`make demo\` (or scripts/install_cli.py)" \
        "installs it, then open a new shell" >&2
    exit 1
fi

# The server saved its admin token in the CLI config on first start; when that entry is missing
# (another KARGO_CONFIG), use the token `make demo`'s engine wrote into its state folder.
if [ -z "${KARGO_TOKEN:-}" ] && [ -f "$REPO_ROOT/.kargo/admin.token" ] \
    && ! kargo get projects >/dev/null 2>&1; then
    KARGO_TOKEN="$(cat "$REPO_ROOT/.kargo/admin.token")"
    export KARGO_TOKEN
fi

failures=0
count=0

run() {
    # $1: the command line exactly as the guide prints it (after placeholder substitution).
    local line="$1"
    count=$((count + 1))
    printf '\n$ %s\n' "$line"
    if bash -c "$line"; then
        printf '[%d ok]\n' "$count"
    else
        local code=$?
        printf '[%d FAILED with exit code %d]\n' "$count" "$code"
        failures=$((failures + 1))
    fi
}

first_name() {
    # The name of the first resource of a kind, e.g. `first_name analysisrun`.
    kargo get "$1" -o name 2>/dev/null | head -n 1 | cut -d/ -f2
}

run "kargo get promotion planning-poker"
run "kargo describe promotion planning-poker"
run "kargo get stage development"
run "kargo get stage production"
run "kargo promote planning-poker --from development --to production"
run "kargo rollback planning-poker --to development"
run "kargo get events --field-selector involvedObject.kind=Promotion"
run "kargo logs promotion planning-poker"
run "kargo get analysisrun"
analysis_run="$(first_name analysisrun)"
run "kargo describe analysisrun ${analysis_run:-<no-analysisrun-found>}"
run "kargo get webhook-config"
webhook="$(first_name webhook-config)"
run "kargo test webhook ${webhook:-<no-webhook-config-found>}"
run "kargo --v=4 get promotion"
run "kargo export promotion planning-poker > promotion-debug.yaml"
if [[ -s promotion-debug.yaml ]]; then
    printf '(promotion-debug.yaml: %s lines, in %s)\n' "$(wc -l <promotion-debug.yaml)" "$WORK_DIR"
fi

printf '\n%d of %d guide command lines succeeded\n' "$((count - failures))" "$count"
[[ $failures -eq 0 ]]
