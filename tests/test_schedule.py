"""The shared learning-rate schedule: warm-up, cosine decay, zero at the end and after."""

import math

import pytest

from styledrop.training.schedule import warmup_cosine


def test_warmup_cosine_rises_linearly_peaks_and_decays_to_zero():
    peak, warmup, total = 1e-3, 10, 110
    assert [warmup_cosine(s, peak, warmup, total) for s in (0, 4, 9)] == pytest.approx([1e-4, 5e-4, 1e-3])
    assert warmup_cosine(10, peak, warmup, total) == pytest.approx(peak)  # the decay starts at the peak
    assert warmup_cosine(60, peak, warmup, total) == pytest.approx(peak / 2)  # half way: cos(pi/2)
    assert warmup_cosine(110, peak, warmup, total) == pytest.approx(0, abs=1e-12)
    assert warmup_cosine(500, peak, warmup, total) == pytest.approx(0, abs=1e-12)  # a longer run stays at zero
    rates = [warmup_cosine(s, peak, warmup, total) for s in range(warmup, total)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert not any(math.isnan(r) for r in rates)
