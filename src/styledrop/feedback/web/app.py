"""The picking page: a FastAPI app over one candidate pool (paper section 3.3, human feedback).

    GET  /               the page (static/index.html, with static/pick.css and static/pick.js)
    GET  /api/pool       {pool, pool_dir, reference, images, picked, target, next_command}
    POST /api/pick       {id, picked} -> the updated image record, saved at once
    GET  /files/{path}   an image (or pool.json / manifest.jsonl) inside the pool folder, nothing else

Picks are the `human` policy in the manifest's `selected_by`. Every pick goes through `set_pick`,
which locks the pool and replaces the manifest atomically, so a reload or a crash keeps it and two
tabs (or a selection run beside the page) never lose each other's picks. The handlers are plain
`def`s: FastAPI runs them in its thread pool, and the lock serialises the writers.

Other sites get nothing: the app answers only its own Host names (no DNS rebinding), refuses a
POST whose Origin (or Referer) is another site's, asks a POST for a Content-Length of at most
`MAX_BODY` bytes before reading it, and forbids being framed (no clickjacking).
"""

from __future__ import annotations

import shlex
import socket
import sys
import threading
import webbrowser
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field, StrictBool, StrictStr

from ...errors import StyleDropError
from ..manifest import HUMAN, MANIFEST, read_manifest, read_pool_info, set_pick
from .paths import Refused, pool_file

PAPER_PICKS = 10  # the paper trains round 2 on about 10 picked images
REFERENCE = "reference.png"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
STATIC = {"pick.css": "text/css", "pick.js": "text/javascript"}
MAX_BODY = 4096  # bytes; a pick is {"id": "p003-i05", "picked": true}
NO_FRAMES = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


class Pick(BaseModel):
    id: StrictStr = Field(max_length=200)
    picked: StrictBool  # "yes" or 1 is not a pick


def refusal(request: Request) -> JSONResponse | None:
    """Why a state-changing request must not reach the handlers, as the response to give; else None."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    sender = request.headers.get("origin") or request.headers.get("referer")
    if sender is not None:
        parts = urlsplit(sender)
        if f"{parts.scheme}://{parts.netloc}".lower() != own:
            return JSONResponse({"detail": "requests from other sites are refused"}, status_code=403)
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        return JSONResponse({"detail": "a Content-Length is required"}, status_code=411)
    if int(length) > MAX_BODY:
        return JSONResponse({"detail": f"the body is larger than {MAX_BODY} bytes"}, status_code=413)
    return None


def check_pool(pool_dir: Path) -> Path:
    """The pool folder, if it is one; else a one-line StyleDropError that says how to make one."""
    pool = Path(pool_dir)
    if not pool.is_dir():
        raise StyleDropError(f"{pool} is not a folder: give the candidate pool made by `styledrop feedback pool`")
    read_pool_info(pool)
    read_manifest(pool)
    return pool


def pool_state(pool: Path) -> dict:
    images = read_manifest(pool)
    return {
        "pool": read_pool_info(pool),
        "pool_dir": str(pool),
        "reference": REFERENCE if (pool / REFERENCE).is_file() else None,
        "images": [asdict(image) for image in images],
        "picked": sum(HUMAN in image.selected_by for image in images),
        "target": PAPER_PICKS,
        "next_command": f"styledrop feedback train {shlex.quote(str(pool))}",
    }


def create_app(pool_dir: Path, hosts: tuple[str, ...] = LOOPBACK) -> FastAPI:
    """The app; it answers only requests addressed to `hosts` (a page elsewhere that rebinds its
    own name to 127.0.0.1 gets 400, not the pool). `("*",)` answers any."""
    pool = check_pool(pool_dir)
    static = resources.files(__package__).joinpath("static")
    page = static.joinpath("index.html").read_text(encoding="utf-8")
    assets = {name: static.joinpath(name).read_text(encoding="utf-8") for name in STATIC}
    app = FastAPI(title="StyleDrop picks", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))

    @app.middleware("http")
    async def guard(request: Request, call_next) -> Response:
        response = refusal(request) or await call_next(request)
        response.headers.update(NO_FRAMES)
        return response

    @app.exception_handler(StyleDropError)
    def pool_error(request, err: StyleDropError) -> JSONResponse:  # e.g. a hand-edited manifest that no longer parses
        return JSONResponse({"detail": str(err)}, status_code=500)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}")
    def asset(name: str) -> Response:
        if name not in assets:
            raise HTTPException(404, f"no static file {name!r}")
        return Response(assets[name], media_type=STATIC[name], headers={"Cache-Control": "no-store"})

    @app.get("/api/pool")
    def get_pool() -> dict:
        return pool_state(pool)

    @app.post("/api/pick")
    def post_pick(pick: Pick) -> dict:
        if pick.id not in {image.id for image in read_manifest(pool)}:
            raise HTTPException(404, f"no image with id {pick.id!r} in the pool")
        return asdict(set_pick(pool, pick.id, pick.picked, policy=HUMAN))

    @app.get("/files/{requested:path}")
    def get_file(requested: str) -> FileResponse:
        try:
            return FileResponse(pool_file(pool, requested), headers={"Cache-Control": "no-cache"})
        except Refused:
            raise HTTPException(403, "only images and pool records inside the pool folder are served") from None
        except FileNotFoundError:
            raise HTTPException(404, f"no file {requested!r} in the pool") from None

    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port), or a StyleDropError naming the fix."""
    if not 0 <= port <= 65535:
        raise StyleDropError(f"--port {port} is not a port number: give one from 1 to 65535 (0: any free port)")
    try:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as err:
        raise StyleDropError(f"cannot listen on {host}:{port} ({err.strerror}): pass another --port") from err
    return sock


def serve(pool_dir: Path, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False) -> None:
    """Serve the picking page until Ctrl-C."""
    import uvicorn

    local = host in LOOPBACK
    app = create_app(pool_dir, hosts=LOOPBACK if local else ("*",))
    sock = bind(host, port)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{sock.getsockname()[1]}/"
    print(f"picking page for {pool_dir}: {url}  (Ctrl-C to stop)", file=sys.stderr)
    if not local:
        print(f"warning: {host} is reachable from other machines and the page has no login", file=sys.stderr)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    with sock:
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn shuts down cleanly, then re-raises Ctrl-C
            pass
    print(f"stopped; the picks are saved in {Path(pool_dir) / MANIFEST}", file=sys.stderr)
