"""`styledrop feedback pick`: its flags, and one-line errors before anything is served."""

from __future__ import annotations

import argparse
import socket

import pytest

from styledrop.errors import StyleDropError
from styledrop.feedback.web.cli import register


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="styledrop feedback")
    register(parser.add_subparsers(dest="step", required=True))
    return parser.parse_args(list(argv))


def test_defaults_listen_on_this_machine_only(tmp_path):
    args = parse("pick", str(tmp_path))
    assert (args.pool_dir, args.host, args.port, args.no_browser) == (tmp_path, "127.0.0.1", 8765, False)
    assert parse("pick", str(tmp_path), "--no-browser", "--port", "9000").no_browser


@pytest.mark.parametrize("name, match", [("absent", "not a folder"), ("", "not a candidate pool")])
def test_a_folder_that_is_not_a_pool_fails_in_one_line(tmp_path, name, match):
    args = parse("pick", str(tmp_path / name), "--no-browser")
    with pytest.raises(StyleDropError, match=match) as error:
        args.func(args)
    assert "\n" not in str(error.value)


def test_a_busy_or_impossible_port_names_the_fix(pool_dir):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        args = parse("pick", str(pool_dir), "--no-browser", "--port", str(busy.getsockname()[1]))
        with pytest.raises(StyleDropError, match="pass another --port"):
            args.func(args)
    args = parse("pick", str(pool_dir), "--no-browser", "--port", "70000")
    with pytest.raises(StyleDropError, match="not a port number"):
        args.func(args)


@pytest.mark.parametrize("text, reason", [('{"round": 1,', "not valid JSON"), ("[1, 2]", "not an object"),
                                          (b"\xff\xfe", "not a text file")])
def test_a_corrupt_pool_json_is_one_line_before_anything_is_served(pool_dir, capsys, text, reason):
    from styledrop.cli import main

    pool_file = pool_dir / "pool.json"
    pool_file.write_bytes(text if isinstance(text, bytes) else text.encode())
    code = main(["feedback", "pick", str(pool_dir), "--no-browser", "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert str(pool_file) in err and reason in err and "styledrop feedback pool" in err
