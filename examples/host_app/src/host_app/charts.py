"""Bar charts as inline SVG, drawn on the server: no script, no stylesheet, no CDN.

The page's Content-Security-Policy forbids inline styles, so the charts use SVG
presentation attributes only (``fill``, ``font-size``), which it allows. Each
chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` listing its
values, so a screen reader gets the numbers, not the shapes. Every text is
HTML-escaped: labels come from data (intents, reasons).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

ACCENT = "#4c5bd4"
MUTED = "#677089"
LINE = "#dde1ec"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _svg(title: str, desc: str, width: int, height: int, body: list[str]) -> str:
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{_e(title)}</title><desc>{_e(desc)}</desc>{''.join(body)}</svg>"
    )


def day_bars(
    title: str,
    days: Sequence[str],
    values: Sequence[float],
    *,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    width: int = 640,
    height: int = 180,
) -> str:
    """One vertical bar per day, the maximum labelled, first and last day under the axis."""
    left, bottom, top = 8, 22, 18
    plot_h = height - bottom - top
    peak = max(values, default=0) or 1
    step = (width - 2 * left) / max(len(values), 1)
    bar_w = max(step * 0.8, 1)
    body = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" '
        f'stroke="{LINE}"/>'
    ]
    for i, value in enumerate(values):
        h = plot_h * value / peak
        x = left + i * step + (step - bar_w) / 2
        body.append(
            f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="{ACCENT}"><title>{_e(days[i])}: {_e(fmt(value))}'
            "</title></rect>"
        )
    top_value = fmt(max(values, default=0))
    body.append(f'<text x="{left}" y="12" font-size="11" fill="{MUTED}">max {_e(top_value)}</text>')
    if days:
        body.append(
            f'<text x="{left}" y="{height - 6}" font-size="11" fill="{MUTED}">{_e(days[0])}</text>'
            f'<text x="{width - left}" y="{height - 6}" font-size="11" fill="{MUTED}" '
            f'text-anchor="end">{_e(days[-1])}</text>'
        )
    desc = "; ".join(f"{d}: {fmt(v)}" for d, v in zip(days, values, strict=True))
    return _svg(title, desc or "no data", width, height, body)


def category_bars(title: str, counts: dict[str, int], *, width: int = 420, row: int = 22) -> str:
    """One horizontal bar per category, largest first, the count at the bar's end."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    label_w, right = 150, 40
    height = max(len(items), 1) * row + 4
    peak = max(counts.values(), default=0) or 1
    body = []
    for i, (label, count) in enumerate(items):
        y = i * row + 2
        w = (width - label_w - right) * count / peak
        body.append(
            f'<text x="{label_w - 6}" y="{y + row * 0.65:.1f}" font-size="12" '
            f'text-anchor="end" fill="{MUTED}">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{ACCENT}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + row * 0.65:.1f}" '
            f'font-size="12">{count}</text>'
        )
    if not items:
        body.append(f'<text x="0" y="{row * 0.65:.1f}" font-size="12" fill="{MUTED}">none</text>')
    desc = "; ".join(f"{label}: {count}" for label, count in items)
    return _svg(title, desc or "none", width, height, body)
