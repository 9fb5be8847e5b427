"""Chart geometry for the dashboard, drawn as inline SVG by templates/admin/_charts.html.

Server-side so the page needs no script and no CDN; the numbers become coordinates here and
the template only places shapes and text (Jinja escapes every label).
"""

from __future__ import annotations

import math

WIDTH, HEIGHT = 640, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 12, 28


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (axis top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _axes(top: float, labels: list[str]) -> dict:
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    ticks = [{"y": round(PAD_TOP + plot_h * (1 - i / 4), 1), "label": _short(top * i / 4)}
             for i in range(5)]
    every = max(1, math.ceil(len(labels) / 6))
    slot = plot_w / max(1, len(labels))
    xlabels = [{"x": round(PAD_LEFT + slot * (i + 0.5), 1), "label": label[5:]}
               for i, label in enumerate(labels) if i % every == 0]
    return {"width": WIDTH, "height": HEIGHT, "left": PAD_LEFT, "right": WIDTH - PAD_RIGHT,
            "top": PAD_TOP, "bottom": HEIGHT - PAD_BOTTOM, "ticks": ticks, "xlabels": xlabels,
            "slot": slot, "plot_h": plot_h}


def _short(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def bar_chart(labels: list[str], values: list[float]) -> dict:
    """Bars per label (e.g. conversations per day)."""
    chart = _axes(_nice_max(max(values, default=0)), labels)
    top = _nice_max(max(values, default=0))
    bars = []
    for i, (label, value) in enumerate(zip(labels, values)):
        h = chart["plot_h"] * value / top
        bars.append({"x": round(PAD_LEFT + chart["slot"] * i + chart["slot"] * 0.15, 1),
                     "y": round(chart["bottom"] - h, 1), "w": round(chart["slot"] * 0.7, 1),
                     "h": round(h, 1), "label": label, "value": _short(value)})
    return {**chart, "bars": bars}


def line_chart(labels: list[str], series: dict[str, list[float | None]]) -> dict:
    """One polyline per series; days without a value break the line."""
    top = _nice_max(max((v for values in series.values() for v in values if v is not None),
                        default=0))
    chart = _axes(top, labels)
    lines = []
    for index, (name, values) in enumerate(series.items()):
        segments, current, dots = [], [], []
        for i, value in enumerate(values):
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x = round(PAD_LEFT + chart["slot"] * (i + 0.5), 1)
            y = round(chart["bottom"] - chart["plot_h"] * value / top, 1)
            current.append(f"{x},{y}")
            dots.append({"x": x, "y": y, "label": labels[i], "value": _short(value)})
        if current:
            segments.append(" ".join(current))
        lines.append({"name": name, "segments": segments, "dots": dots, "index": index})
    return {**chart, "lines": lines}


def ratio_bars(rows: list[dict]) -> dict:
    """A stacked horizontal bar per model version: thumbs up, then thumbs down."""
    row_h, label_w, width = 28, 220, WIDTH
    bars = []
    for i, row in enumerate(rows):
        total = row["up"] + row["down"]
        scale = (width - label_w - 120) / max(1, max((r["up"] + r["down"] for r in rows), default=1))
        bars.append({"y": i * row_h + 4, "label": row["model"], "up": row["up"],
                     "down": row["down"], "ratio": row["ratio"], "x": label_w,
                     "up_w": round(row["up"] * scale, 1), "down_w": round(row["down"] * scale, 1),
                     "end": round(label_w + total * scale + 6, 1)})
    return {"width": width, "height": max(1, len(rows)) * row_h + 8, "bars": bars,
            "row_h": row_h, "label_w": label_w}
