"""Bar charts as inline SVG, drawn on the server: no JavaScript, no build step, prints fine."""
from __future__ import annotations

from typing import Callable

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 16, 40


def bar_chart(points: list[tuple[str, float | None]], *, title: str,
              value_label: Callable[[float], str] = lambda v: f"{v:g}") -> Markup:
    """One bar per (label, value); None is drawn as "no data" (not as zero)."""
    values = [v for _, v in points if v is not None]
    top = max(values, default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(points), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (0, 0.5, 1):  # three grid lines with their values
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(value_label(top * fraction))}</text>')
    label_every = max(1, round(len(points) / 10))  # keep day labels legible at tablet width
    for i, (label, value) in enumerate(points):
        x = LEFT + i * slot + slot * 0.15
        bar_w = slot * 0.7
        if value is None:
            parts.append(f'<text class="nodata" x="{x + bar_w / 2:.1f}" y="{TOP + plot_h - 4:.1f}" '
                         f'text-anchor="middle">–</text>')
        else:
            h = plot_h * value / top
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}"><title>{escape(label)}: {escape(value_label(value))}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
