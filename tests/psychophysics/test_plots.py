"""The results figure (pure core): people's curves with bands and observers beside them, any edge case."""

import io

from PIL import Image as PILImage

from psychophysics.plots import results_png


def row(level, accuracy, low, high):
    return {"level": level, "n": 10, "n_correct": 0, "accuracy": accuracy, "ci95": [low, high]}


def test_the_figure_draws_people_and_observers_even_at_the_edges_of_their_intervals():
    results = {
        "levels": [1, 10, 100],
        "chance": 0.5,
        "humans": {
            "n_participants": 3,
            "curves": {
                "clickme": [row(1, 0.6, 0.5, 0.7), row(10, 1.0, 0.95, 1.0), row(100, None, None, None)],
                "saliency": [row(1, 0.0, 0.0, 0.2), row(10, 0.5, 0.4, 0.6), row(100, 0.9, 0.8, 0.95)],
            },
        },
        "observers": [
            {
                "partner": "net",
                "status": "done",
                # intervals that end a rounding error inside their point (seen with percentile intervals)
                "curves": {"clickme": [row(1, 0.9791666666666666, 0.9791666666666667, 1.0)], "saliency": []},
            },
            {"partner": "queued", "status": "queued"},
        ],
    }
    png = results_png(results, "test")
    with PILImage.open(io.BytesIO(png)) as figure:
        assert figure.format == "PNG" and figure.size == (1056, 528)
        assert len(figure.convert("RGB").getcolors(1 << 20)) > 50  # something was drawn
