"""Progress bars: tqdm's on a terminal; in a log file or a pipe, one plain line per tenth of the way,
and one at least every five minutes (a tenth of a 14,000-step pretraining run is 50 minutes).

tqdm redraws its bar with carriage returns, which a terminal overwrites and a file keeps:
`make demo > log` gathered 40 KB of frames. Every progress bar of the package comes from
`progress_bar(...)`, which takes the tqdm arguments the package uses and returns a tqdm bar when
stderr is a terminal (or a notebook, where tqdm draws a widget), else a `LineProgress`:

    training:  10% 30/300 [00:12<01:52,  2.40it/s, loss=2.104]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

from tqdm.auto import tqdm

LINES = 10  # a line at 10 %, 20 %, ..., 100 %
EVERY_SECONDS = 300.0  # and a line after this long without one
METER = "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


class LineProgress:
    """tqdm's interface as the package uses it (iterate, `update`, `set_postfix`, `close`, `with`),
    writing tqdm's meter as one line each time another tenth of `total` is done, or after
    `EVERY_SECONDS` without a line."""

    def __init__(self, iterable: Iterable | None = None, *, total: int | None = None, initial: int = 0,
                 desc: str = "", unit: str = "it", file=None):
        self.iterable, self.n, self.first, self.desc, self.unit = iterable, initial, initial, desc, unit
        self.total = len(iterable) if total is None and iterable is not None else total
        self.file, self.postfix, self.start = file or sys.stderr, "", time.monotonic()
        self.shown, self.last_line = self._tenths(), self.start

    def _tenths(self) -> int:
        return self.n * LINES // self.total if self.total else 0

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if self._tenths() > self.shown or now - self.last_line >= EVERY_SECONDS:
            self.shown, self.last_line = self._tenths(), now
            elapsed = now - self.start
            rate = (self.n - self.first) / elapsed if elapsed > 0 else None  # this run's steps, not a resumed total
            print(tqdm.format_meter(self.n, self.total, elapsed, prefix=self.desc, unit=self.unit, rate=rate,
                                    postfix=self.postfix or None, bar_format=METER), file=self.file, flush=True)

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def close(self) -> None:
        pass  # every line is already written

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None, initial: int = 0, desc: str = "",
             unit: str = "it", disable: bool = False) -> tqdm | LineProgress:
    """A progress bar over `iterable` (or updated by hand up to `total`) on stderr."""
    if disable or _redraws(sys.stderr):
        return tqdm(iterable, total=total, initial=initial, desc=desc, unit=unit, disable=disable)
    return LineProgress(iterable, total=total, initial=initial, desc=desc, unit=unit)


def _redraws(stream) -> bool:
    """Whether `stream` shows a redrawn bar as one line: a terminal, or a Jupyter kernel's output."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or type(stream).__module__.startswith("ipykernel")
