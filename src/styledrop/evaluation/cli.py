"""`styledrop score`: text score, style score, predicted style and content, and leakage.

    styledrop score --images DIR --reference IMG [--prompts FILE_OR_TEXT ...]
                    [--reference-content TEXT] [--scorers DIR] [--out FILE.json]

Which images, with which prompts:

- the images are those listed in `DIR/generation.json` (written by `styledrop generate`:
  ``{"images": [{"file": "000.png", "prompt": "A cow in [V] style", ...}, ...]}``) in its
  order; without that file, every image file directly in DIR, in natural name order
  ("img2.png" before "img10.png");
- the prompts are `--prompts` when given, else those of generation.json, whose style adapter's
  words ("[V]", "fluent flat outlined") the text score leaves out: it reads what is drawn.
  `--prompts` is one file with a prompt per line (blank lines and lines starting with "#"
  skipped), or the prompt texts themselves; one prompt serves every image, otherwise there must
  be one per image, in the image order above.

The reference's content (for leakage) is `--reference-content` when given, else what the
content classifier sees in the reference image. The command prints a table and, with `--out`,
writes the per-image values and the aggregates as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

from ..errors import StyleDropError
from ..images import load_image

GENERATION_FILE = "generation.json"
# The file names of `styledrop.images.READ_FORMATS`.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``score`` to the main CLI's subparsers."""
    score = subparsers.add_parser(
        "score",
        help="score generated images: text and style scores, style/content classes, leakage",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score.add_argument("--images", type=Path, required=True, help="folder of images to score")
    score.add_argument("--reference", type=Path, required=True, help="the style reference image")
    score.add_argument("--prompts", nargs="+", help="a prompts file, or one or more prompts")
    score.add_argument("--reference-content", help="what the reference shows, e.g. 'cat'")
    score.add_argument("--scorers", type=Path, help="scorer folder (default: models/scorers)")
    score.add_argument("--out", type=Path, help="write the results here as JSON")
    score.set_defaults(func=run_score)


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _read_generation(path: Path) -> list[tuple[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise StyleDropError(f"{path} is not JSON ({err}); fix it or remove it and pass "
                             "--prompts") from err
    entries = data.get("images") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise StyleDropError(f"{path} has no list under \"images\"; expected "
                             '{"images": [{"file": ..., "prompt": ...}, ...]}')
    pairs = []
    for i, entry in enumerate(entries):
        if not (isinstance(entry, dict) and isinstance(entry.get("file"), str)
                and isinstance(entry.get("prompt"), str)):
            raise StyleDropError(f"{path}: images[{i}] needs string keys \"file\" and \"prompt\", "
                                 f"got {entry!r}")
        pairs.append((entry["file"], entry["prompt"]))
    return pairs


def recorded_style_words(path: Path) -> str:
    """The style adapter's descriptor that `styledrop generate` recorded in generation.json, or ""."""
    if not path.is_file():
        return ""
    style = (json.loads(path.read_text(encoding="utf-8")).get("adapters") or {}).get("style") or {}
    words = style.get("style_descriptor") if isinstance(style, dict) else None
    return words if isinstance(words, str) else ""


def collect_inputs(images_dir: Path, prompts: list[str] | None) -> list[tuple[Path, str]]:
    """(image path, prompt) pairs by the rules in the module docstring."""
    if not images_dir.is_dir():
        raise StyleDropError(f"--images {images_dir} is not a folder; pass the folder of images")
    generation = images_dir / GENERATION_FILE
    listed = _read_generation(generation) if generation.is_file() else None
    if listed is not None:
        files = [images_dir / name for name, _ in listed]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise StyleDropError(f"{generation} lists {len(missing)} missing files, e.g. "
                                 f"{missing[0]}; regenerate or fix the list")
    else:
        files = sorted((p for p in images_dir.iterdir()
                        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                       key=lambda p: _natural_key(p.name))
        if not files:
            raise StyleDropError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {images_dir}")
    if prompts:
        if len(prompts) == 1 and Path(prompts[0]).is_file():
            prompts_file = Path(prompts[0])
            lines = prompts_file.read_text(encoding="utf-8").splitlines()
            prompts = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
            if not prompts:
                raise StyleDropError(f"prompts file {prompts_file} has no prompts; write one "
                                     "prompt per line")
        if len(prompts) == 1:
            prompts = prompts * len(files)
        if len(prompts) != len(files):
            raise StyleDropError(f"{len(prompts)} prompts for {len(files)} images in "
                                 f"{images_dir}; give one prompt, or one per image")
    elif listed is not None:
        prompts = [prompt for _, prompt in listed]
    else:
        raise StyleDropError(f"no prompts: {images_dir} has no {GENERATION_FILE}; pass "
                             "--prompts (a file, one prompt for all, or one per image)")
    return list(zip(files, prompts))


def score_folder(pairs, reference_path: Path, scorers, reference_content: str | None, style_words: str = "") -> dict:
    """Every value the command reports, as a JSON-ready dict. With `style_words` (the style
    adapter's descriptor), the text score reads each prompt without them: what is drawn, not a look."""
    from ..captions import strip_style
    from .leakage import leakage_rate

    images = [load_image(path) for path, _ in pairs]
    prompts = [strip_style(prompt, style_words) for _, prompt in pairs]
    reference = load_image(reference_path)
    captions = scorers.labels.captions
    if reference_content is not None:
        ref_index, ref_prob, source = scorers.require_content(reference_content), None, "flag"
    else:
        caption, ref_prob = scorers.classify_content([reference], k=1)[0][0]
        ref_index, source = captions.index(caption), "classifier"
    text = scorers.text_scores(images, prompts)
    style = scorers.style_scores(images, reference)
    styles = scorers.classify_style(images)
    contents = scorers.classify_content(images, k=5)
    rows, predicted, prompted = [], [], []
    for i, (path, prompt) in enumerate(pairs):
        asked = scorers.content_index(prompt)
        top = captions.index(contents[i][0][0])
        predicted.append(top)
        prompted.append(asked)
        rows.append({
            "file": path.name, "prompt": prompt,
            "prompted_content": None if asked is None else captions[asked],
            "text_score": text[i], "style_score": style[i],
            "style": styles[i][0], "style_prob": styles[i][1],
            "content_top5": [[c, p] for c, p in contents[i]],
            "content_correct": None if asked is None else top == asked,
            "shows_reference_content": top == ref_index,
        })
    mapped = [r for r in rows if r["content_correct"] is not None]
    leakage = leakage_rate(predicted, prompted, ref_index)
    style_counts: dict[str, int] = {}
    for name, _ in styles:
        style_counts[name] = style_counts.get(name, 0) + 1
    return {
        "reference": {"file": str(reference_path), "content": captions[ref_index],
                      "content_source": source, "content_prob": ref_prob},
        "images": rows,
        "aggregate": {
            "images": len(rows),
            "text_score": sum(text) / len(text),
            "style_score": sum(style) / len(style),
            "predicted_styles": style_counts,
            "prompts_mapped_to_content": len(mapped),
            "content_accuracy": (sum(r["content_correct"] for r in mapped) / len(mapped)
                                 if mapped else None),
            "leakage": None if math.isnan(leakage) else leakage,
        },
    }


def _print_table(result: dict) -> None:
    rows = result["images"]
    width = max(12, *(len(r["file"]) for r in rows))
    print(f"{'file':<{width}}  {'text':>6}  {'style':>6}  {'predicted style':<24}  "
          f"{'predicted content':<26}  prompted")
    for r in rows:
        top, prob = r["content_top5"][0]
        style = f"{r['style']} ({r['style_prob']:.2f})"
        content = f"{top} ({prob:.2f})"
        mark = {True: "ok", False: "x", None: "(no content)"}[r["content_correct"]]
        print(f"{r['file']:<{width}}  {r['text_score']:>6.3f}  {r['style_score']:>6.3f}  "
              f"{style:<24}  {content:<26}  {r['prompted_content'] or ''} {mark}")
    agg, ref = result["aggregate"], result["reference"]
    accuracy = agg["content_accuracy"]
    leakage = agg["leakage"]
    print(f"mean text score {agg['text_score']:.3f}, mean style score {agg['style_score']:.3f}")
    print("content accuracy " + ("n/a" if accuracy is None else f"{accuracy:.3f}")
          + f" over {agg['prompts_mapped_to_content']} of {agg['images']} images whose prompt "
          "names a known content")
    print(f"leakage {'n/a' if leakage is None else f'{leakage:.3f}'} (reference content "
          f"{ref['content']!r}, from the {ref['content_source']})")


def run_score(args: argparse.Namespace) -> int:
    from .scorers import Scorers

    pairs = collect_inputs(args.images, args.prompts)
    scorers = Scorers.load(args.scorers)
    words = "" if args.prompts else recorded_style_words(args.images / GENERATION_FILE)
    result = score_folder(pairs, args.reference, scorers, args.reference_content, words)
    result["scorers"] = str(args.scorers) if args.scorers else "models/scorers (bundled)"
    _print_table(result)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0
