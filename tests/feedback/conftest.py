"""A tiny candidate pool on disk and the picking page served from it on a free port."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from styledrop.feedback.manifest import PoolImage, read_manifest, write_manifest

PROMPTS = ["A banana in [V] style", "A rocket in [V] style", "A house in [V] style"]
IMAGES_PER_PROMPT = 4
SECRET = "secret that must never be served"


def draw(path: Path, shape: int, shade: int) -> None:
    """A 32x32 image: one shape per prompt, one shade per image (deterministic, tiny)."""
    image = Image.new("RGB", (32, 32), (250, 244, 230))
    pen = ImageDraw.Draw(image)
    style = {"fill": (40 + 50 * shade, 90, 200 - 40 * shade), "outline": (20, 20, 20)}
    if shape == 0:
        pen.ellipse([6, 6, 26, 26], **style)
    elif shape == 1:
        pen.rectangle([6, 6, 26, 26], **style)
    else:
        pen.polygon([(16, 4), (28, 28), (4, 28)], **style)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


@pytest.fixture()
def pool_dir(tmp_path: Path) -> Path:
    """tmp_path/pool with 3 prompts x 4 images, a reference, and secrets beside it to steal."""
    pool = tmp_path / "pool"
    images = []
    for p, prompt in enumerate(PROMPTS):
        for i in range(IMAGES_PER_PROMPT):
            image_id = f"p{p:03d}-i{i:02d}"
            draw(pool / "images" / f"{image_id}.png", shape=p, shade=i)
            scores = {"text": round(0.2 + 0.05 * i, 3), "style": round(0.8 - 0.1 * i, 3)}
            selected = ["clip"] if i == 0 else []
            images.append(PoolImage(image_id, prompt, 100 * p + i, f"images/{image_id}.png", scores, selected))
    write_manifest(pool, images)
    draw(pool / "reference.png", shape=0, shade=3)
    (pool / "pool.json").write_text(json.dumps({"round": 1, "prompts": PROMPTS}))
    (pool / "notes.txt").write_text("not an image")
    (tmp_path / "secret.png").write_text(SECRET)
    (tmp_path / "secret.txt").write_text(SECRET)
    (pool / "images" / "escape.png").symlink_to(tmp_path / "secret.png")
    return pool


def human_picks(pool: Path) -> set[str]:
    return {image.id for image in read_manifest(pool) if "human" in image.selected_by}


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture()
def live_server(pool_dir: Path):
    """The real app under uvicorn in a background thread; yields its base URL."""
    import uvicorn

    from styledrop.feedback.web.app import bind, create_app

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(pool_dir), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()
