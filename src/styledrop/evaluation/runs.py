"""The headline numbers of one StyleDrop run, from `score_folder`'s per-image results."""

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
