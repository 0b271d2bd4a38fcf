"""Progress bars: a bar on a terminal; in a log, one line per tenth (and per five minutes), no carriage returns."""

import io

import numpy as np
from PIL import Image
from tqdm import tqdm

from styledrop.cli import main
from styledrop.progress import LineProgress, progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_per_tenth(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    bar = progress_bar(range(37), desc="training")
    assert isinstance(bar, LineProgress)
    for _ in bar:
        bar.set_postfix(loss="1.250")
    lines = log.getvalue().splitlines()
    assert [int(line.split()[1].rstrip("%")) // 10 for line in lines] == list(range(1, 11))  # 10% (4/37), 21%, ...
    assert lines[-1].startswith("training: 100% 37/37 [") and lines[-1].endswith("loss=1.250]")
    assert "\r" not in log.getvalue()


def test_updates_by_hand_and_a_resumed_start_count_from_where_they_are(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    with progress_bar(total=250, desc="sampling", unit="step") as bar:
        for _ in range(250):
            bar.update(1)
    assert len(log.getvalue().splitlines()) == 10
    log.truncate(0), log.seek(0)
    for _ in progress_bar(range(60, 100), initial=60, total=100, desc="training"):
        pass
    assert [line.split()[1] for line in log.getvalue().splitlines()] == ["70%", "80%", "90%", "100%"]


def test_a_slow_run_also_gets_a_line_every_five_minutes(monkeypatch):
    clock = iter(range(0, 10_000, 100))  # each reading of the clock is 100 s later
    monkeypatch.setattr("styledrop.progress.time.monotonic", lambda: next(clock))
    log = io.StringIO()
    with LineProgress(total=1000, desc="pretraining", file=log) as bar:  # started at 0 s
        for _ in range(7):  # updates at 100 s, ..., 700 s: none reaches a tenth
            bar.update(1)
    assert [line.split()[2] for line in log.getvalue().splitlines()] == ["3/1000", "6/1000"]  # at 300 s and 600 s


def test_a_terminal_gets_tqdm_and_disabled_prints_nothing(monkeypatch):
    monkeypatch.setattr("sys.stderr", Terminal())
    assert isinstance(progress_bar(range(3)), tqdm)
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    for _ in progress_bar(range(30), disable=True):
        pass
    assert log.getvalue() == ""


def test_train_and_generate_to_a_log_print_lines_not_frames(tiny_base_dir, tmp_path, capsys):
    image = tmp_path / "w.png"
    Image.fromarray(np.full((24, 24, 3), (200, 30, 30), np.uint8)).save(image)
    assert main(["train", "--base", str(tiny_base_dir), "--image", str(image), "--caption", "A x in [V] style",
                 "--out", str(tmp_path / "a.safetensors"), "--steps", "20", "--lr", "0.01"]) == 0
    assert main(["generate", "--base", str(tiny_base_dir), "--adapter", str(tmp_path / "a.safetensors"),
                 "--prompt", "A x in [V] style", "--steps", "20", "--num-images", "2", "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err  # pytest's capture is not a terminal, as a log file is not
    assert "\r" not in err
    assert sum(line.startswith("training: ") for line in err.splitlines()) == 10
    assert sum(line.startswith("sampling: ") for line in err.splitlines()) == 10
