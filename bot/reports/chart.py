"""Draw a ChartSpec as a PNG with matplotlib's headless Agg backend (no display, no global pyplot state).

1080 × 1080 px: a phone shows it full width. The timeline (stacked by sentiment) takes the top half, the
top kasus and top Kab/Kota the bottom half side by side; long names are shortened, tick labels thinned
(ChartSpec.tick_every), and `constrained` layout keeps texts from overlapping.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.reports.summary import ChartSpec
from bot.text import shorten

WIDTH_PX = 1080
HEIGHT_PX = 1080
DPI = 150
BAR_COLOUR = "#4a6fa5"


def render_png(spec: ChartSpec) -> bytes:
    """The chart as PNG bytes. CPU-bound (~0.2-0.4 s): callers run it off the event loop."""
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, height_ratios=(1.15, 1))
    timeline = fig.add_subplot(grid[0, :])
    cases = fig.add_subplot(grid[1, 0])
    cities = fig.add_subplot(grid[1, 1])
    fig.suptitle(f"{spec.title}\n{spec.subtitle}", fontsize=9.5, fontweight="bold")

    positions = list(range(len(spec.x_labels)))
    bottom = [0] * len(positions)
    for series in spec.series:
        timeline.bar(positions, series.values, bottom=bottom, color=series.colour, label=series.label, width=0.8)
        bottom = [b + v for b, v in zip(bottom, series.values, strict=True)]
    timeline.set_xticks(positions[:: spec.tick_every], [spec.x_labels[i] for i in positions[:: spec.tick_every]])
    timeline.tick_params(axis="both", labelsize=7)
    timeline.set_ylabel(spec.y_label, fontsize=7.5)
    timeline.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Above the plot area, so it never hides a tall bar.
    timeline.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, ncols=3)
    timeline.spines[["top", "right"]].set_visible(False)
    if max(bottom, default=0) == 0:
        timeline.set_ylim(0, 1)

    for axis, title, items in ((cases, spec.cases_title, spec.cases), (cities, spec.cities_title, spec.cities)):
        labels = [shorten(label, 22) for label, _ in items][::-1]
        values = [value for _, value in items][::-1]
        axis.barh(range(len(values)), values, color=BAR_COLOUR)
        axis.set_yticks(range(len(values)), labels)
        axis.tick_params(axis="both", labelsize=7)
        axis.set_title(title, fontsize=8.5)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.spines[["top", "right"]].set_visible(False)
        for y, value in enumerate(values):
            axis.annotate(str(value), (value, y), xytext=(2, 0), textcoords="offset points", va="center", fontsize=6.5)
        if not items:
            axis.text(0.5, 0.5, "—", ha="center", va="center", transform=axis.transAxes)
            axis.set_axis_off()

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
