"""`styledrop feedback pool|score|select|pick|train|run`: round 2 as single steps or one chain."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..bundled import default_base
from ..config import check_setting, load_settings
from ..errors import StyleDropError
from ..pipeline import SampleConfig, sampler_settings

DEFAULT_PROMPTS, DEFAULT_IMAGES = 12, 8  # the paper: 30 x 64; sized to take minutes on a CPU


def _base(args):
    from ..base import load_base
    from ..devices import pick_device

    return load_base(args.base, pick_device(args.device))


def _sampler(args, base) -> SampleConfig:
    return sampler_settings(base, args.config, {"seed": args.seed, "steps": args.steps, "style_scale": args.style_scale},
                            styled=True)  # pools are drawn with the adapter


def _pool_inputs(args) -> tuple[Path | None, list[str]]:
    """(reference, prompts) of a pool to draw, checked before the base loads."""
    from ..adapters.io import load_adapter_file
    from .pool import default_prompts, pool_reference, read_prompt_file

    check_setting(SampleConfig, "num_images", args.images_per_prompt, where="--images-per-prompt")
    adapter = load_adapter_file(args.adapter)
    reference = Path(args.reference) if args.reference else None
    pool_reference(adapter, reference)  # a missing or unreadable reference fails before the base loads
    prompts = (read_prompt_file(args.prompt_file) if args.prompt_file
               else default_prompts(args.prompts, adapter.style_descriptor or "[V]", adapter.captions))
    return reference, prompts


def _round_config(args):
    from .rounds import RoundConfig

    return load_settings(RoundConfig, args.config, {"steps": args.train_steps, "lr": args.lr, "rank": args.rank,
                                                    "seed": args.seed}, section="train")


def cmd_pool(args) -> int:
    from .pool import make_pool

    reference, prompts = _pool_inputs(args)
    base = _base(args)
    images = make_pool(base, Path(args.adapter), reference, prompts, args.images_per_prompt,
                       _sampler(args, base), Path(args.out))
    print(f"wrote {len(images)} candidates ({len(prompts)} prompts x {args.images_per_prompt}) to {args.out}")
    return 0


def cmd_score(args) -> int:
    from .score import score_pool, scorer_from_spec

    images = score_pool(Path(args.pool), scorer_from_spec(args.scorer))
    print(f"scored {len(images)} images in {args.pool}/manifest.jsonl")
    return 0


def cmd_select(args) -> int:
    from .select import select_pool

    kept = select_pool(Path(args.pool), args.policy, args.seed or 0, args.style_quantile)
    print(f"policy {args.policy}: selected {len(kept)} images (marked in {args.pool}/manifest.jsonl)")
    return 0


def cmd_train(args) -> int:
    from ..training.loop import check_out
    from .rounds import train_round

    out = Path(args.out) if args.out else Path(args.pool) / "round2.safetensors"
    config = _round_config(args)
    check_out(out, resume=args.resume, overwrite=args.overwrite)
    result = train_round(_base(args), Path(args.pool), args.policy, out, config, resume=args.resume)
    print(f"wrote {out}: round {result.adapter.lineage['round']}, {result.adapter.lineage['selected']} selected "
          f"images + the reference, policy {args.policy}")
    return 0


def cmd_run(args) -> int:
    from ..training.loop import check_out
    from .manifest import read_manifest
    from .rounds import run_round
    from .score import scorer_from_spec

    if args.policy == "human":
        raise StyleDropError("--policy human needs picks made in the page: run `styledrop feedback pool`, then "
                             "`styledrop feedback pick POOL`, then `styledrop feedback train POOL --policy human`")
    reference, prompts = _pool_inputs(args)
    config = _round_config(args)
    pool, out = Path(args.out), Path(args.out) / "round2.safetensors"
    check_out(out, resume=args.resume, overwrite=args.overwrite)
    base = _base(args)
    result = run_round(base, Path(args.adapter), pool, prompts, args.images_per_prompt, _sampler(args, base),
                       scorer_from_spec(args.scorer), args.policy, out, config, reference=reference,
                       seed=args.seed or 0, style_quantile=args.style_quantile, resume=args.resume)
    print(f"wrote {len(read_manifest(pool))} candidates ({len(prompts)} prompts x {args.images_per_prompt}) to {pool}, "
          f"scored and selected by {args.policy}")
    print(f"wrote {out}: round {result.adapter.lineage['round']}, {result.adapter.lineage['selected']} selected "
          f"images + the reference")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    feedback = subparsers.add_parser("feedback", help="round 2: pool -> score -> select -> train (paper section 3.3)")
    steps = feedback.add_subparsers(dest="feedback_command", metavar="STEP", required=True)

    def common(parser, *, sampling=False, training=False):
        parser.add_argument("--base", default=default_base(), help="base model (default: the bundled emoji base)")
        parser.add_argument("--device", default="auto")
        parser.add_argument("--config", type=Path, help="TOML with [generate] and [train] tables")
        parser.add_argument("--seed", type=int)
        if sampling:
            parser.add_argument("--adapter", required=True, help="round-1 adapter")
            parser.add_argument("--reference", help="the style reference image of round 1 "
                                "(default: the one recorded in --adapter when it was trained)")
            parser.add_argument("--prompts", type=int, default=DEFAULT_PROMPTS, help="built-in prompts to use")
            parser.add_argument("--prompt-file", help="one prompt per line instead of the built-in list")
            parser.add_argument("--images-per-prompt", type=int, default=DEFAULT_IMAGES)
            parser.add_argument("--steps", type=int, help="decoding steps")
            parser.add_argument("--style-scale", type=float)
        if training:
            parser.add_argument("--policy", default="clip", choices=["clip", "random", "clip+style", "human"])
            parser.add_argument("--train-steps", type=int)
            parser.add_argument("--lr", type=float)
            parser.add_argument("--rank", type=int, help="adapter rank (default 32, unshared: the paper's round 2)")
            parser.add_argument("--resume", action="store_true")
            parser.add_argument("--overwrite", action="store_true", help="replace the adapter and its checkpoint")

    pool = steps.add_parser("pool", help="draw candidates with a round-1 adapter")
    common(pool, sampling=True)
    pool.add_argument("--out", required=True, help="pool folder to create")
    pool.set_defaults(func=cmd_pool)

    score = steps.add_parser("score", help="text and style scores for every candidate")
    score.add_argument("pool")
    score.add_argument("--scorer", help="'emoji' (default, bundled) or 'clip:PATH' (a local CLIP folder)")
    score.set_defaults(func=cmd_score)

    select = steps.add_parser("select", help="mark candidates by a policy")
    select.add_argument("pool")
    select.add_argument("--policy", required=True, choices=["clip", "random", "clip+style"])
    select.add_argument("--seed", type=int)
    select.add_argument("--style-quantile", type=float, default=0.5, help="clip+style: style score floor (quantile)")
    select.set_defaults(func=cmd_select)

    train = steps.add_parser("train", help="train the next round's adapter on the selection")
    train.add_argument("pool")
    train.add_argument("--out", help="adapter to write (default POOL/round2.safetensors)")
    common(train, training=True)
    train.set_defaults(func=cmd_train)

    run = steps.add_parser("run", help="pool -> score -> select -> train in one go")
    common(run, sampling=True, training=True)
    run.add_argument("--out", required=True, help="pool folder to create; the adapter goes to OUT/round2.safetensors")
    run.add_argument("--scorer")
    run.add_argument("--style-quantile", type=float, default=0.5)
    run.set_defaults(func=cmd_run)

    from .web.cli import register as register_pick

    register_pick(steps)
