"""`python -m kargo.api --config DIR --state-dir DIR --database-url URL --port N --host H`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from kargo.api.binding import Tls
from kargo.api.server import ServerError, serve


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m kargo.api", description=__doc__)
    parser.add_argument("--config", type=Path, default=None, help="configuration folder to apply")
    parser.add_argument("--state-dir", type=Path, default=Path(".kargo"))
    parser.add_argument(
        "--database-url",
        default=os.environ.get("KARGO_DATABASE_URL"),
        help="PostgreSQL URL (else KARGO_DATABASE_URL: keeps a password out of the process list)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rbac", type=Path, default=None, help="access policy (rbac.yaml)")
    parser.add_argument("--tls-cert", type=Path, default=None, help="PEM certificate")
    parser.add_argument("--tls-key", type=Path, default=None, help="PEM private key")
    parser.add_argument(
        "--insecure-bind-all",
        action="store_true",
        help="allow a non-loopback address without TLS (tokens travel in clear)",
    )
    parser.add_argument(
        "--save-token",
        action="store_true",
        help="on the first start, also save the admin token in the CLI config file",
    )
    parser.add_argument("--v", dest="verbosity", type=int, default=0, help="4+: debug logs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.verbosity >= 4:  # our own debug lines; SQLAlchemy's statement log stays off
        logging.getLogger("kargo").setLevel(logging.DEBUG)
    if (args.tls_cert is None) != (args.tls_key is None):
        sys.stderr.write("kargo server: give both --tls-cert and --tls-key\n")
        return 2
    tls = Tls(args.tls_cert, args.tls_key) if args.tls_cert and args.tls_key else None
    try:
        serve(
            args.config,
            args.state_dir,
            args.database_url,
            args.host,
            args.port,
            tls=tls,
            insecure_bind_all=args.insecure_bind_all,
            rbac=args.rbac,
            save_token=args.save_token,
        )
    except ServerError as exc:
        sys.stderr.write(f"kargo server: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
