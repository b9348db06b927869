"""The strip's clock (hover, ticks) is the time into the record: past 24 h it names the day instead of wrapping to 00:00."""

import numpy as np
import pytest

from cardiacml.viz.html.record import record_figure


def _figure(hours: float, fs: float = 2.0):
    n = int(hours * 3600 * fs)
    sig = np.sin(np.arange(n) / 3.0)
    times = np.array([10.0, hours * 3600 - 10.0])
    fig, _, _ = record_figure(sig, fs, times, np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]), ["N", "V"],
                              detail_budget_bytes=200_000)
    return fig


@pytest.mark.parametrize("hours, has_day", [(0.5, False), (23.9, False), (25.0, True), (72.0, True)])
def test_clock_names_the_day_only_past_24_hours(hours, has_day):
    fig = _figure(hours)
    markers = [t for t in fig.data if t.hovertemplate]
    assert markers and all(("day %-d" in t.hovertemplate) == has_day for t in markers)
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):
        assert all(("day %-d" in s.value) == has_day for s in axis.tickformatstops)
    assert ("day, hh:mm:ss" in fig.layout.xaxis2.title.text) == has_day
