"""Charts drawn on the server as SVG markup, by pure functions: figures in, markup out.

A page puts the markup inline (the Content-Security-Policy allows it: no `style=` attribute,
no script; colours are `fill` and `stroke` attributes, text styles are classes of
portal.css). Each bar carries its figure in a `<title>` (a tooltip, and what a screen reader
says), and the page shows the same figures in a table beside the chart.

The scale is chosen from the data: a "nice" axis (steps of 1, 2 or 5 times a power of ten)
that always includes zero, so a negative savings rate (a rights transaction sold above its
reserve price) is drawn below the zero line. A chart of one bar is as readable as one of
fifty: bars keep between a minimum and a maximum width, labels that would collide are thinned
or turned, and a chart whose bars do not fit its width grows wider (the page scrolls it)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Callable, Sequence

# Okabe–Ito: told apart by colour-blind readers, and dark enough on white (no yellow)
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#000000")
WIDTH = 900  # the drawing's width when its bars fit (CSS fits it to the page's width)
PLOT_HEIGHT = 220  # the bars' area
RIGHT, TOP = 16, 44  # margins: on the right; above (the y axis's label and the legend)
FONT = 13  # the labels' size, in the drawing's units (portal.css sets the same)
MIN_GROUP = 10  # a group of bars is at least this wide; more groups widen the drawing
MAX_BAR = 56  # a bar is at most this wide, however few there are


@dataclass(frozen=True)
class Series:
    """One colour of bars: its name (in the legend) and one value per group (None: no bar)."""

    name: str
    values: tuple[float | None, ...]


def text_width(text: str, size: float = FONT) -> float:
    """About how wide `text` is drawn: a CJK character is a square, a Latin one about 0.6."""
    return sum(size if ord(c) >= 0x2E80 else size * 0.6 for c in text)


def nice_ticks(low: float, high: float, most: int = 7) -> list[float]:
    """The figures of an axis from at most `low` to at least `high`, zero among them, in
    steps of 1, 2, 2.5 or 5 times a power of ten, at most `most` of them: of the steps that
    give few enough, the one that wastes the least room, then the finer."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1.0  # nothing but zeros: an axis from 0 to 1
    power = 10.0 ** math.floor(math.log10((high - low) / most))
    best: tuple[float, int, int, float] | None = None
    for step in (m * power * scale for scale in (1, 10, 100) for m in (1, 2, 2.5, 5)):
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
        count = last - first + 1
        if count > most:
            continue
        candidate = ((last - first) * step, -count, first, step)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    assert best is not None  # a step of 100 powers covers the span in at most 2
    _, count, first, step = best
    return [_tidy((first + i) * step) for i in range(-count)]


def _tidy(value: float) -> float:
    """A tick without the float's noise (0.30000000000000004 is 0.3)."""
    return float(f"{value:.12g}")


def integer_ticks(high: float, most: int = 7) -> list[float]:
    """An axis of counts from zero: whole steps of 1, 2 or 5 times a power of ten (a count
    of 1 is not drawn as 0.2, 0.4, …, nor 7 as 2.5, 5, 7.5)."""
    top = max(1, math.ceil(high))
    step = next(m * 10 ** p for p in range(19) for m in (1, 2, 5)
                if math.ceil(top / (m * 10 ** p)) + 1 <= most)
    return [float(i * step) for i in range(math.ceil(top / step) + 1)]


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str,
              x_label: str, y_label: str, show: Callable[[float], str],
              show_tick: Callable[[float], str] | None = None, counts: bool = False,
              chart_id: str = "chart") -> str:
    """One bar per label (a single series: no legend)."""
    return grouped_bar_chart(labels, [Series("", tuple(values))], title=title,
                             x_label=x_label, y_label=y_label, show=show, show_tick=show_tick,
                             counts=counts, chart_id=chart_id, legend=False)


def grouped_bar_chart(groups: Sequence[str], series: Sequence[Series], *, title: str,
                      x_label: str, y_label: str, show: Callable[[float], str],
                      show_tick: Callable[[float], str] | None = None, counts: bool = False,
                      chart_id: str = "chart", legend: bool = True) -> str:
    """Bars in groups along the x axis (months, say), one colour per series (categories),
    with a legend, labelled axes and each bar's figure in its `<title>`; figures above the
    bars too (below a negative one) where they fit. `show` writes a figure (a percentage, a
    count), `show_tick` an axis's (`show` if not given); `counts` makes the axis go in whole
    steps. "" when there is no figure at all."""
    show_tick = show_tick or show
    figures = [x for s in series for x in s.values if x is not None]
    if not groups or not figures:
        return ""
    # a tenth more room above the highest bar, for its figure
    ticks = integer_ticks(max(figures) * 1.1) if counts else \
        nice_ticks(min(figures), max(figures) * 1.1)
    low, high = ticks[0], ticks[-1]
    left = max(40.0, max(text_width(show_tick(t)) for t in ticks) + 14)
    plot_width, group_width, bar, every, turned = _layout(groups, len(series), left)
    if turned:  # the first label, turned, reaches left of its bar: the margin makes room
        reach = text_width(groups[0]) * 0.71 - group_width / 2 + 4
        if reach > left:
            left = reach
            plot_width, group_width, bar, every, turned = _layout(groups, len(series), left)
    label_depth = max(text_width(g) for g in groups) * 0.71 + FONT if turned else FONT
    below_zero = FONT + 4 if low < 0 else 0  # the figures under negative bars, above labels
    top, plot_height = TOP, PLOT_HEIGHT
    labels_at = top + plot_height + below_zero + FONT + 6
    height = labels_at + label_depth + FONT * 2
    width = left + plot_width + RIGHT
    shown = len(groups) * len(series) <= 60  # figures on the bars: not on a forest of them

    def y(value: float) -> float:
        return top + plot_height * (high - value) / (high - low)

    ident = escape(chart_id)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart{" wide" if width > WIDTH else ""}" '
             f'id="{ident}" role="img" aria-labelledby="{ident}-title" width="{width:.0f}" '
             f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">',
             f'<title id="{ident}-title">{escape(title)}</title>',
             f'<text class="axis-label" x="4" y="{top - 18}">{escape(y_label)}</text>']
    for tick in ticks:  # the grid and the y axis's figures
        parts.append(f'<line class="grid" x1="{left:.1f}" x2="{left + plot_width:.1f}" '
                     f'y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#d9dee4" stroke-width="1"/>')
        parts.append(f'<text class="tick" x="{left - 6:.1f}" y="{y(tick) + FONT * 0.35:.1f}" '
                     f'text-anchor="end">{escape(show_tick(tick))}</text>')
    zero = y(0.0)
    for g, group in enumerate(groups):
        start = left + g * group_width + (group_width - bar * len(series)) / 2
        for s, line in enumerate(series):
            value = line.values[g]
            if value is None:
                continue
            x = start + s * bar
            name = f"{line.name} · {group}" if line.name else group
            parts.append(f'<rect class="bar series-{s}" x="{x:.1f}" y="{min(y(value), zero):.1f}" '
                         f'width="{max(bar - 1, 1):.1f}" height="{abs(y(value) - zero):.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}" data-value="{value:g}">'
                         f'<title>{escape(name)}: {escape(show(value))}</title></rect>')
            figure = show(value)
            if shown and text_width(figure, FONT - 1) <= max(bar, group_width / len(series)):
                at = y(value) - 4 if value >= 0 else y(value) + FONT
                parts.append(f'<text class="value" x="{x + (bar - 1) / 2:.1f}" y="{at:.1f}" '
                             f'text-anchor="middle">{escape(figure)}</text>')
        if g % every == 0:  # the group's label, under it (turned when they are long)
            middle = left + (g + 0.5) * group_width
            turn = (f' transform="rotate(-45 {middle:.1f} {labels_at:.1f})"' if turned else "")
            parts.append(f'<text class="label" x="{middle:.1f}" y="{labels_at:.1f}" '
                         f'text-anchor="{"end" if turned else "middle"}"{turn}>'
                         f'{escape(group)}</text>')
    parts.append(f'<line class="zero" x1="{left:.1f}" x2="{left + plot_width:.1f}" '
                 f'y1="{zero:.1f}" y2="{zero:.1f}" stroke="#5b6876" stroke-width="1.2"/>')
    parts.append(f'<line class="axis" x1="{left:.1f}" x2="{left:.1f}" y1="{top}" '
                 f'y2="{top + plot_height}" stroke="#5b6876" stroke-width="1"/>')
    parts.append(f'<text class="axis-label" x="{left + plot_width / 2:.1f}" '
                 f'y="{height - 6:.1f}" text-anchor="middle">{escape(x_label)}</text>')
    if legend:
        parts.append(_legend(series, min(width, WIDTH) - RIGHT))
    parts.append("</svg>")
    return "".join(parts)


def _layout(groups: Sequence[str], series: int,
            left: float) -> tuple[float, float, float, int, bool]:
    """The plot's width, each group's, each bar's, and every how many groups a label is
    written and whether turned, for a left margin: the drawing's width if the bars fit in
    it, wider if not."""
    plot_width = max(WIDTH - left - RIGHT, MIN_GROUP * len(groups), (series * 4 + 4) * len(groups))
    group_width = plot_width / len(groups)
    every, turned = _label_spacing(groups, group_width)
    return plot_width, group_width, min(MAX_BAR, group_width * 0.8 / series), every, turned


def _label_spacing(groups: Sequence[str], group_width: float) -> tuple[int, bool]:
    """Every how many groups a label is written, and whether labels are turned 45°: flat
    when each fits its group, else turned, and thinned when even turned ones would touch."""
    widest = max(text_width(g) for g in groups)
    if widest + 6 <= group_width:
        return 1, False
    return max(1, math.ceil(FONT * 1.6 / group_width)), True


def _legend(series: Sequence[Series], right: float) -> str:
    """The series' colours and names, in a row above the plot, ending at `right`."""
    widths = [12 + 5 + text_width(line.name) for line in series]
    x = max(4.0, right - sum(widths) - 16 * (len(series) - 1))
    parts = ['<g class="legend">']
    for s, (line, used) in enumerate(zip(series, widths)):
        parts.append(f'<rect x="{x:.1f}" y="{TOP - 29}" width="12" height="12" '
                     f'fill="{PALETTE[s % len(PALETTE)]}"/>')
        parts.append(f'<text class="legend-name" x="{x + 17:.1f}" y="{TOP - 18}">'
                     f'{escape(line.name)}</text>')
        x += used + 16
    parts.append("</g>")
    return "".join(parts)
