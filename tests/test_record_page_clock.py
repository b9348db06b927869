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
    assert markers and all(("day %-j" in t.hovertemplate) == has_day for t in markers)
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):
        assert all(("day %-j" in s.value) == has_day for s in axis.tickformatstops)
    assert ("day, hh:mm:ss" in fig.layout.xaxis2.title.text) == has_day


def _shown(fmt: str, seconds: float) -> str:
    """What plotly's d3 date format ``fmt`` shows ``seconds`` into the record (the axis counts from 2000-01-01)."""
    import datetime

    at = datetime.datetime(2000, 1, 1) + datetime.timedelta(seconds=seconds)
    return at.strftime(fmt.replace("%L", f"{at.microsecond // 1000:03d}"))


def test_clock_counts_days_from_the_start_past_a_month():
    """The day shown was the day of the month (%-d): on day 35 of a 40-day recording the hover said "day 4"."""
    fig = _figure(40 * 24, fs=0.25)
    at = (34 * 24 + 5) * 3600 + 6.5  # 34 days, 5 h and 6.5 s into the record: day 35
    hover = next(t for t in fig.data if t.hovertemplate).hovertemplate
    fmt = hover[hover.index("%{x|") + 4:hover.index("}", hover.index("%{x|"))]
    assert _shown(fmt, at) == "day 35, 05:00:06.500"
    for stop in fig.layout.xaxis.tickformatstops:
        assert _shown(stop.value, at).startswith("day 35, 05:00:06")


def test_page_and_console_say_a_duration_alike():
    """The page wrote 9.5 s as "0 min 10 s" and the console 1 h 29 min 59 s as "1 h 29 min": one formatter now."""
    from cardiacml.inference.summary import _duration
    from cardiacml.viz.html.record import _hms

    for seconds, text in ((9.5, "9.5 s"), (59.96, "1 min 00 s"), (754.4, "12 min 34 s"), (5399.4, "1 h 29 min 59 s"),
                          (90_000.0, "25 h 00 min 00 s")):
        assert _hms(seconds) == _duration(seconds) == text, seconds
