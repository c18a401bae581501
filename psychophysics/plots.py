"""The results figure: accuracy against reveal level per feature source, people with their bootstrap
95% bands, model observers dashed beside them. matplotlib (Agg) only, no Django."""

import io

SOURCE_COLOURS = {"clickme": "#c2410c", "saliency": "#1d4ed8"}
SOURCE_LABELS = {"clickme": "ClickMe map", "saliency": "bottom-up saliency"}
OBSERVER_STYLES = [("--", "s"), (":", "^"), ("-.", "D")]
OBSERVER_DODGE = 0.03  # observers are drawn a little left or right of the levels, so bars do not hide each other


def _series(rows):
    levels = [r["level"] for r in rows if r["accuracy"] is not None]
    accuracy = [r["accuracy"] for r in rows if r["accuracy"] is not None]
    low = [r["ci95"][0] for r in rows if r["accuracy"] is not None]
    high = [r["ci95"][1] for r in rows if r["accuracy"] is not None]
    return levels, accuracy, low, high


def results_png(results: dict, title: str = "") -> bytes:
    """PNG bytes of the figure of `results` (the JSON of selectors.experiment_results)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(9.6, 4.8), dpi=110)
    humans = results["humans"]
    for source, rows in humans["curves"].items():
        colour = SOURCE_COLOURS.get(source, "#444444")
        levels, accuracy, low, high = _series(rows)
        if not levels:
            continue
        axes.fill_between(levels, low, high, color=colour, alpha=0.18, linewidth=0)
        label = f"people, {SOURCE_LABELS.get(source, source)} (n={humans['n_participants']})"
        axes.plot(levels, accuracy, "-o", color=colour, label=label, markersize=4)
    for index, observer in enumerate(o for o in results["observers"] if o["status"] == "done"):
        line, marker = OBSERVER_STYLES[index % len(OBSERVER_STYLES)]
        for position, (source, rows) in enumerate(observer["curves"].items()):
            series = index * len(observer["curves"]) + position
            dodge = 1 + OBSERVER_DODGE * (series // 2 + 1) * (1 if series % 2 == 0 else -1)
            colour = SOURCE_COLOURS.get(source, "#444444")
            levels, accuracy, low, high = _series(rows)
            if levels:
                label = f"{observer['partner']}, {SOURCE_LABELS.get(source, source)}"
                axes.errorbar(
                    [level * dodge for level in levels],
                    accuracy,
                    yerr=[  # a percentile interval may end a rounding error inside its point
                        [max(0.0, a - lo) for a, lo in zip(accuracy, low, strict=True)],
                        [max(0.0, h - a) for a, h in zip(accuracy, high, strict=True)],
                    ],
                    fmt=line + marker,
                    color=colour,
                    alpha=0.7,
                    markersize=3.5,
                    capsize=2,
                    linewidth=1,
                    label=label,
                )
    axes.axhline(results.get("chance", 0.5), color="#777777", linewidth=0.8, linestyle=":", label="chance")
    axes.set_xscale("log")
    ticks = results["levels"]
    axes.set_xticks(ticks)
    axes.set_xticklabels([str(t) for t in ticks], fontsize=8)
    axes.set_xlim(min(ticks) * 0.8, max(ticks) * 1.25)
    axes.minorticks_off()
    axes.set_ylim(0.3, 1.02)
    axes.set_xlabel("pixels revealed (%)")
    axes.set_ylabel("accuracy")
    axes.set_title(title or "Rapid categorisation: accuracy against reveal level", fontsize=10)
    axes.grid(alpha=0.25)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
