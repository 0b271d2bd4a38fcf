"""Quality of the bundled emoji-world base: tokenizer reconstruction and held-out pairs.

1. Tokenizer: PSNR of encode -> decode on pretraining-style images and on held-out-style images
   (which the tokenizer never saw), and a side-by-side picture (top: originals, bottom:
   reconstructions).
2. Transformer: for every (content, style) pair held out from pretraining, draw images from
   "A {content} in {style words} style" and ask the bundled scorers which style and which content
   they show: style accuracy, content accuracy (top-1 and top-5 over the whole vocabulary), and a
   picture grid of the first pairs.
3. What bounds those numbers: the scorers on the real images of the pairs, on the same images passed
   through the tokenizer (no drawing can show more than its tokens), and on the base's drawings of
   the same contents in styles it was trained on (what it memorised, against what it composes);
   and the held-out pairs per style, with the styles the scorers read instead.
4. Realism that the classifiers cannot forgive: KID (EfficientNet-Lite0 features, unbiased, with its
   standard error) of the drawings of the held-out pairs against the real images of their style sets,
   and for scale the same for the drawings of the seen pairs, for the real held-out images and their
   tokenized versions, and for two disjoint halves of the reals (the floor).

    .venv/bin/python benchmarks/base_quality.py [--base models/emoji-base] [--data data/emoji]
        [--images-per-pair 2] [--sweep] [--tokenizer-only] [--scorers DIR] [--out runs/base-quality]

With --sweep it first tries content guidance x choice temperature on half the held-out pairs
(a small model wants far less guidance than aMUSEd's 5,
and a lower token temperature) and judges the full set with the best.

Needs the dataset (`styledrop data emoji --out data/emoji`) for the held-out pairs and images.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from PIL import Image

from styledrop.base import load_base
from styledrop.base.patch_tokenizer import psnr
from styledrop.bundled import default_base
from styledrop.captions import style_caption
from styledrop.evaluation.realism import kid_to_real, real_features, real_floor, style_records
from styledrop.evaluation.runs import grade
from styledrop.grid import make_grid
from styledrop.images import image_to_tensor, tensor_to_image
from styledrop.pipeline import SampleConfig, StyleDropPipeline, sampler_settings
from styledrop.pretraining.pretrain import STYLE_WORDS
from styledrop.world.manifest import load_manifest


def tokenizer_report(base, records, out: Path) -> dict:
    size = base.resolution
    report, pictures = {}, []
    for name, split in (("pretraining styles", "pretrain"), ("held-out styles", "heldout_style")):
        chosen = [r for r in records if r.split == split]
        images = torch.stack([image_to_tensor(Image.open(r.paths[size]).convert("RGB")) for r in chosen])
        decoded = base.image_tokenizer.decode(base.image_tokenizer.encode(images))
        report[name] = round(psnr(decoded, images), 2)
        picks = torch.linspace(0, len(chosen) - 1, 8).long()
        pictures.append([Image.fromarray((images[i].permute(1, 2, 0) * 255).byte().numpy()) for i in picks])
        pictures.append([Image.fromarray((decoded[i].permute(1, 2, 0) * 255).round().byte().numpy()) for i in picks])
    make_grid(pictures, min_cell=64).save(out / "tokenizer.png")
    return report


def judge(base, pairs, config: SampleConfig, scorers) -> tuple[dict, list]:
    """Draw `config.num_images` images per held-out pair and score style and content."""
    prompts = [style_caption(r.caption, STYLE_WORDS[r.style]) for r in pairs]
    results = StyleDropPipeline(base).generate(prompts, config, show_progress=False)
    asked = [r for r in pairs for _ in range(config.num_images)]
    # odd_blocks: the odd pairs, which the sweep (even pairs only) never saw
    return grade([g.image for g in results], asked, scorers, every_other=config.num_images), results


def seen_pairs(records, pairs) -> list:
    """For each held-out pair, the same content in a style the base was trained on: the next one after the
    pair's style in name order (wrapping round), so that the seen pairs spread over the styles too."""
    styles = sorted({r.style for r in pairs})
    trained = {(r.content_id, r.style): r for r in records if r.split == "pretrain"}
    chosen = []
    for r in pairs:
        start = styles.index(r.style)
        order = [styles[(start + k) % len(styles)] for k in range(1, len(styles))]
        chosen += [trained[r.content_id, s] for s in order if (r.content_id, s) in trained][:1]
    return chosen


def sweep(base, pairs, args, scorers) -> dict:
    """Content guidance x choice temperature on every other held-out pair: which sampler suits this base."""
    subset = pairs[::2]
    rows = []
    grid = [(scale, temperature, token) for scale in args.sweep_scales for temperature in args.sweep_temperatures
            for token in args.sweep_token_temperatures]
    for scale, temperature, token in grid:
        chosen = {"content_scale": scale, "temperature": temperature, "token_temperature": token}
        config = sampler_settings(base, overrides={"steps": args.steps, "num_images": 1, "batch_size": 16, **chosen})
        metrics, _ = judge(base, subset, config, scorers)
        rows.append({**chosen, **metrics})
        print(f"| {scale} | {temperature} | {token} | {metrics['style_accuracy']:.3f} | {metrics['content_top1']:.3f} "
              f"| {metrics['content_top5']:.3f} |", flush=True)
    best = max(rows, key=lambda r: (r["content_top5"] + r["style_accuracy"], r["content_top1"]))
    return {"pairs": len(subset), "steps": args.steps, "rows": rows,
            "best": {k: best[k] for k in ("content_scale", "temperature", "token_temperature")}}


def realism(base, records, pairs, drawn: list, seen_drawn: list, truth: list, tokenized: list) -> dict:
    """KID of each image set against the real images of the held-out pairs' style sets (every split).

    The real held-out images, and their tokenized versions, are set against the other reals only:
    an image compared with itself would read as closer than any drawing could."""
    reals = style_records(records, {r.style for r in pairs})
    features = real_features(reals, base.resolution, base.device)  # (N, 1280)
    held = {(r.content_id, r.style) for r in pairs}
    others = features[torch.tensor([(r.content_id, r.style) not in held for r in reals])]
    sets = {"heldout_pairs": (drawn, features), "seen_pairs": (seen_drawn, features),
            "real_images": (truth, others), "tokenized_real_images": (tokenized, others)}
    report = {"real_images_of_styles": len(reals)}
    for name, (images, against) in sets.items():  # each row its own seed: adding a row moves no other
        report[name] = kid_to_real(images, against, device=base.device,
                                   generator=torch.Generator().manual_seed(0)).to_json()
    report["real_vs_real"] = real_floor(features, torch.Generator().manual_seed(0)).to_json()
    return report


KID_ROWS = {"heldout_pairs": "the base's drawings of the held-out pairs",
            "seen_pairs": "the base's drawings of the same contents in styles it was trained on",
            "real_images": "the real held-out images (against the other reals)",
            "tokenized_real_images": "the real held-out images through the tokenizer (against the other reals)",
            "real_vs_real": "two disjoint random halves of the reals (the floor)"}


def print_kid(kid: dict) -> None:
    for key, text in KID_ROWS.items():
        row = kid[key]
        print(f"| KID to the {kid['real_images_of_styles']} real images of the held-out pairs' styles: {text}, "
              f"{row['sizes'][0]} vs {row['sizes'][1]} images | {row['value']:.5f} ± {row['standard_error']:.5f} |")


BOUNDS = {"real_images": "the real held-out images themselves (the scorers' ceiling)",
          "tokenized_real_images": "the real held-out images through the tokenizer (the best a drawing can read as)",
          "seen_pairs": "the base's drawings of the same contents in styles it was trained on"}


def print_bounds(report: dict, tokenizer: dict, keys: list[str]) -> None:
    print("| measure | value |\n|---|---|")
    for name, value in tokenizer.items():
        print(f"| tokenizer PSNR, {name} | {value} dB |")
    print_rows(report, keys)


def print_rows(report: dict, keys: list[str]) -> None:
    for key in keys:
        row = report[key]
        print(f"| {BOUNDS[key]}, {row['images']} images: style / top-1 / top-5 | {row['style_accuracy']:.3f} / "
              f"{row['content_top1']:.3f} / {row['content_top5']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=default_base())
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--images-per-pair", type=int, default=2)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--content-scale", type=float, help="default: the base's sampling.json, else 5")
    parser.add_argument("--temperature", type=float, help="default: the base's sampling.json, else 4.5")
    parser.add_argument("--sweep", action="store_true", help="first try each --sweep-scales x --sweep-temperatures "
                        "on half the pairs, print the table, and judge the full set with the best pair")
    parser.add_argument("--sweep-scales", type=float, nargs="+", default=[0.0, 1.0, 3.0])
    parser.add_argument("--sweep-temperatures", type=float, nargs="+", default=[1.0, 4.5])
    parser.add_argument("--sweep-token-temperatures", type=float, nargs="+", default=[1.0, 0.7, 0.4])
    parser.add_argument("--token-temperature", type=float, help="default: the base's sampling.json, else 1")
    parser.add_argument("--style-only-scale", type=float, help="default: the base's sampling.json, else 0")
    parser.add_argument("--refine-passes", type=int, help="corrector passes (default: the base's sampling.json, else 0)")
    parser.add_argument("--refine-share", type=float, help="share each corrector pass redraws (default 0.25)")
    parser.add_argument("--tokenizer-only", action="store_true", help="only the tokenizer's rows: PSNR and what "
                        "the scorers read in tokenized held-out pairs (no drawing; any base folder, even untrained)")
    parser.add_argument("--scorers", type=Path, help="scorer folder (default: the bundled models/scorers)")
    parser.add_argument("--out", type=Path, default=Path("runs/base-quality"))
    args = parser.parse_args()
    from styledrop.evaluation.scorers import Scorers

    args.out.mkdir(parents=True, exist_ok=True)
    base = load_base(args.base)
    records = load_manifest(args.data)
    tokenizer = tokenizer_report(base, records, args.out)
    pairs = [r for r in records if r.split == "heldout_pair"]
    scorers = Scorers.load(args.scorers)
    chosen = {"content_scale": args.content_scale, "temperature": args.temperature,
              "token_temperature": args.token_temperature, "style_only_scale": args.style_only_scale,
              "refine_passes": args.refine_passes, "refine_share": args.refine_share}
    report = {"base": str(args.base), "tokenizer_psnr_db": tokenizer, "heldout_pairs": len(pairs)}
    truth = [Image.open(r.paths[base.resolution]).convert("RGB") for r in pairs]
    report["real_images"] = grade(truth, pairs, scorers)  # the scorers' own ceiling on these pairs
    tokenized = base.image_tokenizer.decode(base.image_tokenizer.encode(torch.stack([image_to_tensor(t) for t in truth])))
    tokenized = [tensor_to_image(t) for t in tokenized.cpu()]
    report["tokenized_real_images"] = grade(tokenized, pairs, scorers)  # the best any drawing can read as
    if args.tokenizer_only:
        (args.out / "report.json").write_text(json.dumps(report, indent=2))
        print_bounds(report, tokenizer, ["real_images", "tokenized_real_images"])
        return
    if args.sweep:
        print("| content scale | temperature | token temperature | style accuracy | content top-1 | content top-5 |\n"
              "|---|---|---|---|---|---|")
        report["sweep"] = sweep(base, pairs, args, scorers)
        chosen = {**chosen, **report["sweep"]["best"]}
        (args.out / "report.json").write_text(json.dumps(report, indent=2))
    config = sampler_settings(base, overrides={"steps": args.steps, "num_images": args.images_per_pair,
                                               "batch_size": 16, **chosen})
    metrics, results = judge(base, pairs, config, scorers)
    report |= {"sampler": config.__dict__, **metrics}
    per_row = 8
    seen = seen_pairs(records, pairs)
    report["seen_pairs"], seen_results = judge(base, seen, config, scorers)
    report["kid"] = realism(base, records, pairs, [g.image for g in results], [g.image for g in seen_results],
                            truth, tokenized)
    rows = []
    for start in range(0, min(len(pairs), 32), per_row):
        rows.append(truth[start : start + per_row])  # the held-out real image, never trained on
        rows.append([results[i * args.images_per_pair].image for i in range(start, min(start + per_row, len(pairs)))])
    make_grid(rows, min_cell=64).save(args.out / "heldout_pairs.png")
    prompts = [style_caption(r.caption, STYLE_WORDS[r.style]) for r in pairs]
    (args.out / "heldout_pairs.txt").write_text("\n".join(prompts[:32]) + "\n")
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print_bounds(report, tokenizer, [])
    print(f"| sampler | content scale {config.content_scale}, temperature {config.temperature}, token temperature "
          f"{config.token_temperature}, {config.steps} steps, style-only term {config.style_only_scale}, "
          f"{config.refine_passes} corrector passes of {config.refine_share} |")
    print(f"| held-out pairs: style accuracy ({metrics['images']} images) | {metrics['style_accuracy']:.3f} |")
    print(f"| held-out pairs: content accuracy, top-1 | {metrics['content_top1']:.3f} |")
    print(f"| held-out pairs: content accuracy, top-5 | {metrics['content_top5']:.3f} |")
    print_rows(report, ["real_images", "tokenized_real_images", "seen_pairs"])
    print_kid(report["kid"])
    real = report["real_images"]
    if args.sweep:
        odd = metrics["odd_blocks"]
        print(f"| the same on the {odd['images']} images of pairs the sweep never saw: style / top-1 / top-5 | "
              f"{odd['style_accuracy']:.3f} / {odd['content_top1']:.3f} / {odd['content_top5']:.3f} |")
    print("\n| style asked for | images | style accuracy | read as (count) | content top-1 | content top-5 "
          "| real images: style accuracy |\n|---|---:|---:|---|---:|---:|---:|")
    for name, row in metrics["by_style"].items():
        read = ", ".join(f"{k} {v}" for k, v in sorted(metrics["style_confusion"][name].items(), key=lambda kv: -kv[1]))
        print(f"| {name} | {row['images']} | {row['style_accuracy']:.3f} | {read} | {row['content_top1']:.3f} "
              f"| {row['content_top5']:.3f} | {real['by_style'][name]['style_accuracy']:.3f} |")
    print(f"pictures: {args.out / 'tokenizer.png'}, {args.out / 'heldout_pairs.png'} "
          "(odd rows: the real held-out images; even rows: the base's drawings; prompts in heldout_pairs.txt)")


if __name__ == "__main__":
    main()
