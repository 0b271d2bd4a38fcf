"""`grade`: the one place that turns scorer readings of asked-for drawings into accuracies."""

from types import SimpleNamespace

from styledrop.evaluation.runs import grade


def test_grade_counts_what_the_scorers_read_against_what_was_asked(scorers, random_images):
    images = random_images(6)
    styles = [s for s, _ in scorers.classify_style(images)]
    contents = [[c for c, _ in top] for top in scorers.classify_content(images, k=5)]
    # Ask for what was read on images 0-2, for something else on 3-5: the right answers are known.
    other_style = {s: next(o.name for o in scorers.labels.styles if o.name != s) for s in styles}
    asked = [SimpleNamespace(style=styles[i], caption=contents[i][0]) for i in range(3)]
    asked += [SimpleNamespace(style=other_style[styles[i]], caption=contents[i][1]) for i in range(3, 6)]

    metrics = grade(images, asked, scorers, every_other=2)

    assert metrics["images"] == 6 and metrics["style_accuracy"] == 0.5
    assert metrics["content_top1"] == 0.5 and metrics["content_top5"] == 1.0  # the second guess is in the top 5
    assert sum(m["images"] for m in metrics["by_style"].values()) == 6
    assert sum(sum(row.values()) for row in metrics["style_confusion"].values()) == 6
    for wanted, read in zip(asked, styles):
        assert metrics["style_confusion"][wanted.style][read] >= 1
    # odd blocks of two: images 2, 3 (right, wrong)
    assert metrics["odd_blocks"] == {"images": 2, "style_accuracy": 0.5, "content_top1": 0.5, "content_top5": 1.0}
