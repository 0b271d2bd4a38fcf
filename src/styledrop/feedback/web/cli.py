"""`styledrop feedback pick POOL_DIR`: serve the picking page for one candidate pool."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(feedback_subparsers: argparse._SubParsersAction) -> None:
    pick = feedback_subparsers.add_parser(
        "pick", help="pick round-2 training images by hand in a local web page",
        description="Serve a page that shows the pool grouped by prompt; click (or press space) to pick. "
                    "Every pick is saved at once in POOL_DIR/manifest.jsonl as the `human` policy.")
    pick.add_argument("pool_dir", type=Path, metavar="POOL_DIR", help="the folder made by `styledrop feedback pool`")
    pick.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default: 127.0.0.1, this machine only; the page has no login)")
    pick.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765; 0: any free port)")
    pick.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    pick.set_defaults(func=run_pick)


def run_pick(args: argparse.Namespace) -> int:
    from .app import serve  # fastapi and uvicorn load only for this command

    serve(args.pool_dir, host=args.host, port=args.port, open_browser=not args.no_browser)
    return 0
