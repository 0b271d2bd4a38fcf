"""The picking page's HTTP API: picks are saved at once, survive a restart, and nothing outside
the pool folder is ever served."""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from styledrop.errors import StyleDropError
from styledrop.feedback.manifest import MANIFEST, read_manifest, set_pick
from styledrop.feedback.web import create_app
from styledrop.feedback.web.app import MAX_BODY

from .conftest import IMAGES_PER_PROMPT, PROMPTS, SECRET, human_picks


@pytest.fixture()
def client(pool_dir):
    return TestClient(create_app(pool_dir), base_url="http://127.0.0.1")


def pick(client, image_id: str, picked: bool = True):
    return client.post("/api/pick", json={"id": image_id, "picked": picked})


def test_pool_state_lists_every_image_and_the_next_command(client, pool_dir):
    state = client.get("/api/pool").json()
    assert len(state["images"]) == len(PROMPTS) * IMAGES_PER_PROMPT
    assert state["picked"] == 0 and state["target"] == 10
    assert state["reference"] == "reference.png"
    assert state["pool"]["round"] == 1
    assert state["next_command"] == f"styledrop feedback train {pool_dir}"
    first = state["images"][0]
    assert first["scores"] == {"text": 0.2, "style": 0.8} and first["selected_by"] == ["clip"]


def test_page_and_its_assets_are_local(client):
    page = client.get("/")
    assert page.status_code == 200 and "<main id=\"gallery\"" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN: everything comes from this server
    assert client.get("/static/pick.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/pick.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_pick_and_unpick_are_saved_at_once_and_survive_a_restart(client, pool_dir):
    record = pick(client, "p000-i00").json()
    assert record["selected_by"] == ["clip", "human"]  # the clip policy's pick is kept beside ours
    assert pick(client, "p001-i02").json()["selected_by"] == ["human"]
    assert pick(client, "p001-i02").status_code == 200  # picking twice is one pick
    assert human_picks(pool_dir) == {"p000-i00", "p001-i02"}

    restarted = TestClient(create_app(pool_dir), base_url="http://localhost")
    state = restarted.get("/api/pool").json()
    assert state["picked"] == 2
    assert pick(restarted, "p000-i00", picked=False).json()["selected_by"] == ["clip"]
    assert human_picks(pool_dir) == {"p001-i02"}
    assert client.get("/api/pool").json()["picked"] == 1  # the first server sees it too: no cache


def test_unknown_id_is_404_and_changes_nothing(client, pool_dir):
    before = (pool_dir / MANIFEST).read_bytes()
    response = pick(client, "p999-i99")
    assert response.status_code == 404 and "p999-i99" in response.json()["detail"]
    assert pick(client, "p000-i00", picked="maybe").status_code == 422
    assert client.post("/api/pick", json={"picked": True}).status_code == 422
    assert (pool_dir / MANIFEST).read_bytes() == before


def test_other_sites_cannot_pick(client, pool_dir):
    # DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1.
    assert client.get("/api/pool", headers={"Host": "evil.example:8765"}).status_code == 400
    # A cross-site form can send text/plain without asking first; it is not a pick.
    form = client.post("/api/pick", content='{"id": "p000-i01", "picked": true}', headers={"Content-Type": "text/plain"})
    assert form.status_code == 422 and human_picks(pool_dir) == set()


def test_files_serves_images_and_pool_records(client):
    image = client.get("/files/images/p000-i00.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert client.get("/files/reference.png").status_code == 200
    assert client.get("/files/pool.json").json()["round"] == 1
    assert client.get("/files/manifest.jsonl").status_code == 200
    assert client.get("/files/images/p000-i99.png").status_code == 404


TRAVERSALS = [
    "%2e%2e/secret.png",  # ../secret.png, percent-encoded
    "%2E%2E%2Fsecret.txt",  # ../secret.txt with the slash encoded too
    "images/..%2f..%2fsecret.png",
    "images/%2e%2e/%2e%2e/secret.png",
    "%2fetc%2fpasswd",  # decodes to an absolute path
    "/etc/passwd",  # /files//etc/passwd
    "%252e%252e/secret.png",  # double encoding: a folder literally named %2e%2e, which is absent
    "..%5csecret.png",  # a backslash is a file name character here, not a separator
    "images/escape.png",  # a symlink inside the pool that points out of it
    "images/p000-i00.png%00.txt",
    ".lock",  # inside the pool, but not an image nor a pool record
    "notes.txt",
    "images/../.lock",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_files_refuses_anything_outside_the_pool_or_not_an_image(client, path):
    response = client.get(f"/files/{path}")
    assert response.status_code in (403, 404), path
    assert SECRET not in response.text and "root:" not in response.text


def test_raw_dot_segments_are_refused_by_the_real_server(live_server):
    # httpx and browsers remove `..` before sending; a hand-made request does not.
    url = urlsplit(live_server)
    for path in ["../secret.png", "../../secret.txt", "images/../../secret.png", "..%2Fsecret.png", "./../secret.png"]:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
        connection.request("GET", f"/files/{path}")
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
        connection.close()
        assert response.status in (403, 404), (path, response.status)
        assert SECRET not in body


def test_concurrent_pickers_lose_nothing(live_server, pool_dir):
    """Two tabs and a selection run write at once; every last write of each lands."""
    ids = [image.id for image in read_manifest(pool_dir)]
    tabs = {"left": ids[0::2], "right": ids[1::2]}
    errors: list[Exception] = []

    def tab(mine: list[str]) -> None:
        with httpx.Client(base_url=live_server, timeout=10) as http:
            try:
                steps = [(True, mine), (False, mine), (True, mine), (False, mine), (True, mine[:4])]
                for picked, ids_now in steps:
                    for image_id in ids_now:
                        http.post("/api/pick", json={"id": image_id, "picked": picked}).raise_for_status()
            except httpx.HTTPError as err:  # reported by the main thread below
                errors.append(err)

    threads = [threading.Thread(target=tab, args=(mine,)) for mine in tabs.values()]
    for thread in threads:
        thread.start()
    for image_id in ids:  # a selection policy writing beside the page
        set_pick(pool_dir, image_id, True, policy="random")
    for thread in threads:
        thread.join(timeout=20)
    assert not errors
    assert human_picks(pool_dir) == set(tabs["left"][:4] + tabs["right"][:4])
    assert all("random" in image.selected_by for image in read_manifest(pool_dir))


def test_a_folder_that_is_not_a_pool_is_a_one_line_error(tmp_path):
    with pytest.raises(StyleDropError, match="not a folder") as missing:
        create_app(tmp_path / "absent")
    assert "\n" not in str(missing.value)
    with pytest.raises(StyleDropError, match="pool.json|manifest.jsonl"):
        create_app(tmp_path)


# --- hostile requests: another site, a frame, a huge body, a truthy string ------------------


def test_a_pick_sent_by_another_site_is_refused(client, pool_dir):
    before = (pool_dir / MANIFEST).read_bytes()
    body = {"id": "p000-i01", "picked": True}
    for header in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"},
                   {"Origin": "http://127.0.0.1:9999"}, {"Origin": "null"}):
        response = client.post("/api/pick", json=body, headers=header)
        assert response.status_code == 403 and "other sites" in response.json()["detail"], header
    assert (pool_dir / MANIFEST).read_bytes() == before
    assert client.post("/api/pick", json=body, headers={"Origin": "http://127.0.0.1"}).status_code == 200
    assert client.post("/api/pick", json=body, headers={"Referer": "http://127.0.0.1/"}).status_code == 200
    assert human_picks(pool_dir) == {"p000-i01"}


def test_the_page_cannot_be_framed(client):
    for path in ("/", "/api/pool", "/files/reference.png", "/api/missing"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path


def test_a_huge_body_is_refused_before_it_is_read(client, pool_dir, live_server):
    before = (pool_dir / MANIFEST).read_bytes()
    huge = client.post("/api/pick", json={"id": "x" * 50_000_000, "picked": True})
    assert huge.status_code == 413 and len(huge.content) < 1000  # the id is not echoed back
    long_id = client.post("/api/pick", json={"id": "x" * 1000, "picked": True})  # no pool id is that long
    assert long_id.status_code == 422 and len(long_id.content) < 2 * MAX_BODY
    # a real server answers a 200 MB Content-Length at once, without waiting for (or keeping) the body
    url = urlsplit(live_server)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    connection.putrequest("POST", "/api/pick")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(200_000_000))
    connection.endheaders(b'{"id": "p000-i00", "picked": true' + b" " * 1000)
    assert connection.getresponse().status == 413
    connection.close()
    chunked = httpx.post(f"{live_server}/api/pick", content=iter([b'{"id": "p000-i00", "picked": true}']),
                         headers={"Content-Type": "application/json"})
    assert chunked.status_code == 411  # no Content-Length: no way to bound the body before reading it
    assert (pool_dir / MANIFEST).read_bytes() == before


@pytest.mark.parametrize("picked", ["yes", "true", 1, 0, None])
def test_picked_must_be_a_json_boolean(client, pool_dir, picked):
    before = (pool_dir / MANIFEST).read_bytes()
    assert pick(client, "p000-i00", picked=picked).status_code == 422
    assert client.post("/api/pick", json={"id": 7, "picked": True}).status_code == 422
    assert (pool_dir / MANIFEST).read_bytes() == before
