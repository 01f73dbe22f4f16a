"""Benchmark: the server's memory over rounds of connections that open, vote and close.

Starts the real Planning Poker server (as bench/app_ws.py does) once per collector setting,
then runs --rounds rounds: each creates --rooms new rooms of --participants people, opens
their WebSockets, votes (--rate a room a second) for --hold seconds (long enough for every
connection's objects to reach the oldest generation), and closes them all. After each round
it reads the server's RSS and the collector's counts from /metrics. RSS that keeps growing
round over round with this tree's thresholds and not with Python's defaults is cyclic
garbage left in the oldest generation. `--previous REF` also runs the app at a git ref.

Rerun: `nice -n -10 .venv/bin/python bench/app_churn.py --previous main` (about 12 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx
from app_ws import UNLIMITED, drive, make_app_rooms, release_source, rss_mib, server_process
from support import free_port

GC_SAMPLE = re.compile(
    r"(?:python_gc_|planning_poker_gc_pause_)"
    r"(objects_collected_total|collections_total|seconds_sum|seconds_count|cpu_seconds_sum)"
    r'\{generation="(\d)"\} (\S+)'
)


def gc_counts(base: str) -> dict[str, float]:
    """The server's cumulative collections and objects collected, by generation."""
    with contextlib.suppress(httpx.HTTPError):
        text = httpx.get(f"{base}/metrics", timeout=10).text
        return {
            f"{kind.removesuffix('_total')}{gen}": float(n)
            for kind, gen, n in GC_SAMPLE.findall(text)
        }
    return {}


def churn(
    name: str, thresholds: str | None, args: argparse.Namespace, source: Path | None
) -> list[float]:
    """One server (this tree's app, or the given source's), `args.rounds` rounds; RSS after each."""
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**UNLIMITED, **({"PYTHONPATH": str(source)} if source else {})}
        if thresholds:
            env["PLANNING_POKER_GC_THRESHOLDS"] = f"[{thresholds}]"
        entry = "import sys; from planning_poker.cli import main; main(sys.argv[1:])"
        argv = [sys.executable, "-c", entry, "--port", str(port), "--data-dir", data_dir]
        phase = argparse.Namespace(
            workers=args.workers, duration=args.hold, rate=args.rate, saturate=0, profile=None
        )
        memory: list[float] = []
        with server_process(argv, base + "/readyz", env) as pid:
            for number in range(1, args.rounds + 1):
                plans = asyncio.run(make_app_rooms(base, args.rooms, args.participants))
                drive(name, phase, base, plans, pid)
                time.sleep(args.settle)
                memory.append(rss_mib(pid))
                counts = gc_counts(base)
                print(  # noqa: T201 - a benchmark prints its figures
                    f"{name:<8} round {number}: RSS {memory[-1]:.1f} MiB "
                    f"({memory[-1] / memory[0]:.3f} of round 1); collections "
                    + " ".join(f"gen{g}={counts.get(f'collections{g}', 0):.0f}" for g in "012")
                    + "; objects collected "
                    + " ".join(
                        f"gen{g}={counts.get(f'objects_collected{g}', 0):.0f}" for g in "012"
                    )
                    + f"; full collections timed {counts.get('seconds_count2', 0):.0f}, "
                    f"{1000 * counts.get('seconds_sum2', 0):.1f} ms wall-clock, "
                    f"{1000 * counts.get('cpu_seconds_sum2', 0):.1f} ms CPU in all",
                    flush=True,
                )
    return memory


def main() -> None:
    """Parse flags; run each collector setting in turn and print RSS per round."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--hold", type=float, default=3.0, help="seconds open, voting")
    parser.add_argument("--rate", type=float, default=1.0, help="votes per room per second")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before reading RSS")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument(
        "--setting",
        action="append",
        help="PLANNING_POKER_GC_THRESHOLDS as 'a,b,c' or 'current' (default: current, 700,10,10)",
    )
    parser.add_argument("--previous", metavar="REF", help="also run the app at this git ref")
    args = parser.parse_args()
    settings = args.setting or ["current", "700,10,10"]
    print(f"load average before: {os.getloadavg()}", flush=True)  # noqa: T201
    results = {}
    with contextlib.ExitStack() as stack:
        sources = {"": None}
        if args.previous:
            sources = {f"{args.previous} ": stack.enter_context(release_source(args.previous))}
            sources["tree "] = None
        for setting in settings:
            for prefix, source in sources.items():
                name = prefix + setting
                results[name] = churn(name, None if setting == "current" else setting, args, source)
                print(f"load average now: {os.getloadavg()}", flush=True)  # noqa: T201
    for name, memory in results.items():
        growth = (memory[-1] - memory[0]) / max(1, len(memory) - 1)
        print(  # noqa: T201
            f"{name:<16} RSS "
            + " ".join(f"{m:.0f}" for m in memory)
            + f" MiB; last/first {memory[-1] / memory[0]:.3f}; {growth:+.1f} MiB a round",
            flush=True,
        )


if __name__ == "__main__":
    main()
