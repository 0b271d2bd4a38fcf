"""The headline numbers of drawings, computed here and nowhere else.

- `summarise`: one StyleDrop run, from `score_folder`'s per-image results (text and style scores,
  style accuracy against the reference's set, content accuracy, leakage).
- `grade`: drawings that were asked for a known (content, style), as a benchmark asks the base
  for the emoji world's held-out pairs: style accuracy, content top-1 / top-5, per style, and
  which style the scorers read instead.
"""

from __future__ import annotations


def summarise(result: dict, reference_style: str) -> dict:
    """Text and style scores, style accuracy (share drawn in the reference's set), content
    accuracy (top-1, and top-5 over the whole vocabulary) and content leakage."""
    rows, agg = result["images"], result["aggregate"]
    in_style = sum(r["style"] == reference_style for r in rows) / len(rows)
    top5 = [any(c == r["prompted_content"] for c, _ in r["content_top5"]) for r in rows if r["prompted_content"]]
    return {"images": len(rows), "text_score": round(agg["text_score"], 4), "style_score": round(agg["style_score"], 4),
            "style_accuracy": round(in_style, 4), "content_accuracy": agg["content_accuracy"],
            "content_accuracy_top5": sum(top5) / len(top5) if top5 else None, "content_leakage": agg["leakage"],
            "predicted_styles": agg["predicted_styles"]}


def grade(images: list, asked: list, scorers, *, every_other: int = 0) -> dict:
    """What the scorers read in `images`, each drawn for the record at the same index of `asked`
    (anything with `.style` and `.caption`, e.g. a manifest record).

    With `every_other` = k, also the summary of the images in the odd blocks of k images
    (``odd_blocks``): a sweep that tunes on the even blocks reports the rest as untouched.
    """
    styles = scorers.classify_style(images)
    contents = scorers.classify_content(images, k=5)
    style_ok = [s == r.style for (s, _), r in zip(styles, asked)]
    top1 = [c[0][0] == r.caption for c, r in zip(contents, asked)]
    top5 = [any(name == r.caption for name, _ in c) for c, r in zip(contents, asked)]
    per_image = list(zip(style_ok, top1, top5))
    metrics = summary(per_image)
    metrics["by_style"] = {name: summary([row for row, r in zip(per_image, asked) if r.style == name])
                           for name in sorted({r.style for r in asked})}
    confusion: dict[str, dict[str, int]] = {}
    for (read, _), r in zip(styles, asked):  # which style the scorers saw, per style asked for
        row = confusion.setdefault(r.style, {})
        row[read] = row.get(read, 0) + 1
    metrics["style_confusion"] = confusion
    if every_other and (odd := [row for i, row in enumerate(per_image) if (i // every_other) % 2 == 1]):
        metrics["odd_blocks"] = summary(odd)
    return metrics


def summary(per_image: list[tuple[bool, bool, bool]]) -> dict:
    """Shares of (style right, content top-1 right, content top-5 right) over the images."""
    n = len(per_image)
    style_ok, top1, top5 = zip(*per_image)
    return {"images": n, "style_accuracy": round(sum(style_ok) / n, 4), "content_top1": round(sum(top1) / n, 4),
            "content_top5": round(sum(top5) / n, 4)}
