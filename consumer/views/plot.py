"""Draw each (symbol, currency) group's price distribution with its outliers, into a PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, none expected

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from consumer.report import Report


def plot_report(report: Report, path: Path) -> None:
    """draw_report's figure, written to path as a PNG."""
    figure = draw_report(report)
    try:
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)


def draw_report(report: Report) -> Figure:
    """One panel per (symbol, currency) group: histogram of prices, outliers as red ticks,
    mean as a line; each panel's price axis names its own currency."""
    panels = len(report.histograms)
    if panels == 0:
        raise ValueError("the report has no histograms to plot")
    figure, axes = plt.subplots(panels, 1, figsize=(9, 2.2 * panels), squeeze=False)
    stats = {(s.symbol, s.currency): s for s in report.statistics}
    for axis, histogram in zip(axes[:, 0], report.histograms, strict=True):
        bins = len(histogram.counts)
        width = (histogram.high - histogram.low) / bins or 1.0
        lefts = [histogram.low + index * width for index in range(bins)]
        axis.bar(lefts, histogram.counts, width=width, align="edge", color="#4c72b0")
        group = (histogram.symbol, histogram.currency)
        currency = histogram.currency or "currency unknown"
        axis.axvline(stats[group].mean, color="black", linewidth=1, label="mean")
        outlier_prices = [o.price for o in report.outliers if (o.symbol, o.currency) == group]
        if outlier_prices:
            axis.plot(
                outlier_prices,
                [0] * len(outlier_prices),
                "|",
                color="red",
                markersize=18,
                markeredgewidth=2,
                label=f"outliers ({len(outlier_prices)})",
            )
        axis.set_title(f"{histogram.symbol} in {currency}: {stats[group].count} events", loc="left")
        axis.set_xlabel(f"price ({currency})")
        axis.set_ylabel("events")
        axis.legend(loc="upper right", fontsize="small")
    figure.suptitle(
        f"Topic {report.topic}: price distribution per symbol and currency, outliers beyond "
        f"{report.z_threshold:g} sigma"
    )
    figure.tight_layout()
    return figure
