"""`python -m kargo.api --config DIR --state-dir DIR --database-url URL --port N --host H`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from kargo.api.server import ServerError, serve


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m kargo.api", description=__doc__)
    parser.add_argument("--config", type=Path, default=None, help="configuration folder to apply")
    parser.add_argument("--state-dir", type=Path, default=Path(".kargo"))
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        serve(args.config, args.state_dir, args.database_url, args.host, args.port)
    except ServerError as exc:
        sys.stderr.write(f"kargo server: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
