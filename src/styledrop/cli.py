"""`styledrop` command line: argparse subcommands, each a thin call into the library.

Settings come from defaults < a TOML file (`--config`, tables [train] and [generate]) < flags.
User errors print one line naming the file, the value and the fix, and exit 2; `--debug` shows
the traceback instead. Each command checks its flags, files and outputs before any work, and
every message is printed through `one_line`, so nothing read from a file reaches the terminal raw.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import get_args

import torch

from . import __version__
from .adapters.base import AdapterKind
from .bundled import default_base
from .captions import find_descriptor
from .config import load_settings, save_settings
from .errors import StyleDropError, StyleDropWarning, one_line
from .pipeline import sampler_settings
from .training.loop import TrainConfig


def style_descriptor(captions: list[str], given: str | None) -> str:
    """The style words of the captions: `--style-descriptor`, else what follows 'in' before 'style'."""
    if given:
        return given
    found = {d for c in captions if (d := find_descriptor(c))}
    if len(found) != 1:
        raise StyleDropError(
            f"cannot tell the style descriptor from the captions {captions!r}: write them as "
            "'A [content] in [V] style' with the same descriptor, or pass --style-descriptor")
    return found.pop()


def cmd_train(args) -> int:
    from .base import base_training_defaults, load_base
    from .devices import pick_device
    from .images import image_to_tensor, load_image, to_square
    from .training.loop import check_out, train_adapter

    captions = [c.strip() for c in args.caption]
    if any(not c for c in captions):
        raise StyleDropError("--caption is empty: describe the image, e.g. --caption 'A watermelon in [V] style'")
    if len(captions) != len(args.image):
        raise StyleDropError(f"{len(args.image)} --image but {len(captions)} --caption: give one caption per image "
                             "(a different content caption per image keeps content out of the style words)")
    recipe, recipe_where = base_training_defaults(args.base)  # the base's measured recipe, under TOML and flags
    config = load_settings(TrainConfig, args.config, {
        "steps": args.steps, "lr": args.lr, "rank": args.rank, "adapter_kind": args.adapter_kind, "seed": args.seed,
        "batch_size": args.batch_size, "device": args.device, "checkpoint_every": args.checkpoint_every,
        "shared": args.shared}, section="train", defaults=recipe, defaults_where=recipe_where)
    pick_device(config.device)
    out = Path(args.out)
    check_out(out, resume=args.resume, overwrite=args.overwrite)
    images = [load_image(path) for path in args.image]  # check every file before loading the model
    descriptor = style_descriptor(captions, args.style_descriptor)
    base = load_base(args.base)
    hint_known_style_words(args.base, descriptor, args.image[0], captions[0])
    pixels = torch.stack([image_to_tensor(to_square(img, base.resolution)) for img in images])
    result = train_adapter(base, pixels, captions, config, out, style_descriptor=descriptor, resume=args.resume,
                           keep_checkpoint=args.keep_checkpoint)
    save_settings(config, out.with_name(out.name.removesuffix(".safetensors") + ".train.json"))
    first, last = result.losses[: min(20, len(result.losses))], result.losses[-20:]
    what = " (a full fine-tune of the transformer, not an adapter)" if config.adapter_kind == "full" else ""
    print(f"wrote {out}{what}: {result.trainable_parameters:,} trainable parameters "
          f"({100 * result.trainable_parameters / result.base_parameters:.3f}% of the base), "
          f"loss {sum(first) / len(first):.3f} -> {sum(last) / len(last):.3f}")
    return 0


def hint_known_style_words(base: str | None, descriptor: str, image: str, caption: str) -> None:
    """A note on stderr when the base names style words (styles.json) and the caption uses none of them."""
    from .bundled import default_base
    from .captions import strip_style
    from .describe import base_style_words

    folder = Path(base or default_base())
    known = base_style_words(folder) if folder.is_dir() else []
    if known and descriptor not in known:
        content = strip_style(caption, descriptor).removeprefix("A ").removeprefix("An ")
        print(f"note: this base was pretrained with style words ({', '.join(known[:3])}, ...) and {descriptor!r} is "
              f"not one of them; on the bundled base, a caption in words it knows taught the demo's style from one "
              f"image far better than '[V]' (README, 'The demo'). `styledrop describe --image {image} --content "
              f"{content!r}` ranks them.", file=sys.stderr)


def cmd_generate(args) -> int:
    from .adapters.io import load_adapter_file
    from .base import load_base
    from .generation import generate_to_folder

    if len(args.adapter or []) > 2:
        raise StyleDropError("give at most two --adapter files: a style adapter, then a subject adapter")
    style_image = style_image_flags(args)
    files = [load_adapter_file(p) for p in args.adapter or []]
    from .devices import pick_device

    base = load_base(args.base, pick_device(args.device))
    config = sampler_settings(base, args.config, {
        "steps": args.steps, "seed": args.seed, "num_images": args.num_images, "style_scale": args.style_scale,
        "content_scale": args.content_scale, "negative_prompt": args.negative_prompt, "temperature": args.temperature,
        "token_temperature": args.token_temperature, "subject_weight": args.subject_weight, "batch_size": args.batch_size,
        "style_image_scale": args.style_image_scale, "style_only_scale": args.style_only_scale,
        "style_only_from": args.style_only_from, "refine_passes": args.refine_passes,
        "refine_share": args.refine_share}, styled=bool(files))
    out = Path(args.out)
    results = generate_to_folder(base, args.prompt, config, out, style=files[0] if files else None,
                                 subject=files[1] if len(files) > 1 else None, style_image=style_image)
    save_settings(config, out / "config.json")
    print(f"wrote {len(results)} images, grid.png and generation.json to {out}")
    return 0


def style_image_flags(args):
    """The StyleImage of `--style-image` and `--style-image-caption`, checked before any model loads; or None."""
    from .generation import StyleImage, refuse_style_image_with_adapter
    from .images import load_image

    if args.style_image is None:
        if args.style_image_scale is not None or args.style_image_caption is not None:
            raise StyleDropError("--style-image-scale and --style-image-caption belong to shared attention: "
                                 "give --style-image IMG too")
        return None
    if args.adapter:
        refuse_style_image_with_adapter(args.style_image)
    caption = (args.style_image_caption or "").strip()
    if not caption:
        raise StyleDropError(f"--style-image {args.style_image} needs --style-image-caption, the image's caption as "
                             "`train --caption` takes it, e.g. --style-image-caption 'A watermelon in [V] style'")
    try:
        image = load_image(args.style_image)
    except StyleDropError as err:
        raise StyleDropError(f"--style-image: {err}") from None
    return StyleImage(Path(args.style_image), image, caption)


def cmd_describe(args) -> int:
    from .base import load_base
    from .describe import STYLES_FILE, base_style_words, caption, draw_descriptors, rank_descriptors
    from .devices import pick_device
    from .files import check_writable_folder
    from .images import image_to_tensor, load_image, save_png_atomic, to_square

    content = args.content.strip()
    if not content:
        raise StyleDropError("--content is empty: say what the image shows, e.g. --content watermelon")
    if args.top < 1:
        raise StyleDropError(f"--top {args.top}: give 1 or more rows")
    candidates = args.candidates or (base_style_words(Path(args.base)) if Path(args.base).is_dir() else [])
    if not candidates:
        raise StyleDropError(f"the base {args.base} lists no style words ({STYLES_FILE}); give your own, "
                             "e.g. --candidates 'watercolor painting' 'flat cartoon illustration'")
    image = load_image(args.image)  # before the model loads
    if args.out:
        if args.out.exists() and not args.out.is_dir():
            raise StyleDropError(f"--out {args.out} is a file; give a folder for grid.png")
        check_writable_folder(args.out)
    base = load_base(args.base, pick_device(args.device))
    readings = rank_descriptors(base, image_to_tensor(to_square(image, base.resolution)), content, candidates)
    print("| style words | base's loss on the image (nats; lower: reads it as that style) |\n|---|---:|")
    for reading in readings[: args.top]:
        print(f"| {reading.descriptor} | {reading.loss:.3f} |")
    print(f"\nsuggested caption: --caption '{caption(content, readings[0].descriptor)}'")
    if args.out:
        sheet = draw_descriptors(base, image, content, [r.descriptor for r in readings[: args.top]])
        args.out.mkdir(parents=True, exist_ok=True)
        save_png_atomic(sheet, args.out / "grid.png")
        print(f"wrote {args.out / 'grid.png'}: a row per style words, the image first, then the base's own drawings")
    return 0


def cmd_info(args) -> int:
    from .base import HUB_ID
    from .bundled import EMOJI_BASE

    path = Path(args.path)
    hub_id = not path.exists() and HUB_ID.match(args.path) and not args.path.endswith(".safetensors")
    if path.is_dir() or hub_id or path == EMOJI_BASE:  # a missing bundled base: load_base says how to get it
        from .adapters.factory import trainable_parameter_counts
        from .base import load_base

        base = load_base(path)
        params = sum(p.numel() for p in base.transformer.parameters())
        info = {"base": base.name, "text_encoder": base.text_encoder.kind, "transformer_parameters": params,
                "trainable_parameters": trainable_parameter_counts(base.transformer),
                "resolution": base.resolution, "token_grid": list(base.grid), "codebook_size": base.codebook_size,
                "mask_id": base.mask_id, "transformer_hash": base.transformer_hash(),
                "training_defaults": base.training or "none (the paper's: TrainConfig's defaults)",
                "sampling_defaults": base.sampling or "none (SampleConfig's defaults)",
                "sampling_with_style_adapter": base.sampling_styled or "none (the sampling defaults)"}
    else:
        from .adapters.io import load_adapter_file

        file = load_adapter_file(path)
        kind = file.config.kind + (" (a full fine-tune of the transformer, not an adapter)"
                                   if file.config.kind == "full" else "")
        info = {"adapter": str(path), "kind": kind, "config": file.config.to_dict(),
                "parameters": sum(t.numel() for t in file.tensors.values()), "hash": file.content_hash(),
                "base_id": file.base_id, "base_hash": file.base_hash, "captions": file.captions,
                "style_descriptor": file.style_descriptor, "training": file.training, "seed": file.seed,
                "lineage": file.lineage, "reference": _reference_summary(file),
                "styledrop_version": file.library_version}
    print(json.dumps(info, indent=2))
    return 0


def _reference_summary(file) -> str:
    image = file.reference_image()
    if image is None:
        return "none recorded (feedback pool needs --reference)"
    return f"{image.width}x{image.height} PNG, {len(file.reference_png):,} bytes (the default --reference of feedback pool)"


def cmd_pretrain(args) -> int:
    from .devices import pick_device
    from .pretraining.pretrain import PretrainConfig, export_checkpoint, pretrain_base

    if args.export_only:
        step = export_checkpoint(args.work, args.out)
        print(f"wrote the base model at step {step} to {args.out}")
        return 0
    flags = {"steps": args.steps, "threads": args.threads, "seed": args.seed, "contents": args.contents,
             "variants": None if args.variants is None else tuple(args.variants), "variant_share": args.variant_share,
             "init": None if args.init is None else str(args.init),
             "tokenizer": None if args.tokenizer is None else str(args.tokenizer)}
    config = load_settings(PretrainConfig, args.config, flags, section="pretrain")
    if not (args.data / "manifest.jsonl").is_file():
        raise StyleDropError(f"{args.data} has no manifest.jsonl: build the dataset first with "
                             f"`styledrop data emoji --out {args.data}`")
    import torch

    torch.set_num_threads(config.threads)  # a machine setting of this process, not of the library call
    report = pretrain_base(args.data, args.work, args.out, config, resume=not args.restart,
                           device=str(pick_device(args.device)))
    print(json.dumps(report, indent=2))
    print(f"wrote the base model to {args.out}")
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    train = {k: v for k, v in {"steps": args.train_steps, "lr": args.lr}.items() if v is not None}
    sample = {k: v for k, v in {"style_scale": args.style_scale, "content_scale": args.content_scale,
                                "steps": args.decode_steps, "token_temperature": args.token_temperature,
                                "negative_prompt": args.negative_prompt, "refine_passes": args.refine_passes}.items()
              if v is not None}
    words = {}
    if args.descriptor is not None:
        if not args.descriptor.strip():
            raise StyleDropError("--descriptor is empty: give style words, e.g. --descriptor 'flat outlined', "
                                 "or '[V]' for a rare token")
        words = {"descriptor": args.descriptor.strip()}
    run_demo(Path(args.out), args.base, train, sample, **words)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="styledrop", description="Teach a masked image transformer a style from one image.")
    parser.add_argument("--version", action="version", version=f"styledrop {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = sub.add_parser("train", help="train a style adapter on one or a few images")
    train.add_argument("--base", default=default_base(), help="base model folder (aMUSEd layout) or hub id "
                       "(default: the bundled emoji-world base)")
    train.add_argument("--image", action="append", required=True, help="style image (repeat for several)")
    train.add_argument("--caption", action="append", required=True, help="'A [content] in [V] style', one per --image")
    train.add_argument("--out", required=True, help="adapter file to write (.safetensors)")
    train.add_argument("--style-descriptor", help="style words of the captions (default: read from them)")
    recipe = "default: the base's training.json, else the paper's"
    train.add_argument("--steps", type=int, help=f"training steps ({recipe}: 1000)")
    train.add_argument("--lr", type=float, help=f"learning rate ({recipe}: 3e-5)")
    train.add_argument("--rank", type=int, help=f"adapter bottleneck width H ({recipe}: 4)")
    train.add_argument("--adapter-kind", choices=list(get_args(AdapterKind)),
                       help="styledrop (default: the paper's bottleneck), lora, adain (learned q/k statistics in "
                            "self-attention), full (a full fine-tune of the transformer: an upper reference, not an "
                            "adapter; the file holds every weight)")
    train.add_argument("--shared", action=argparse.BooleanOptionalAction, default=None,
                       help="styledrop adapter: share W_down/W_up across layers (paper round 1; default on)")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--checkpoint-every", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    train.add_argument("--config", type=Path, help="TOML file with a [train] table")
    train.add_argument("--resume", action="store_true", help="continue from OUT's checkpoint")
    train.add_argument("--keep-checkpoint", action="store_true",
                       help="keep OUT's checkpoint when the run ends (removed by default), to extend it later "
                            "with --resume and more --steps")
    train.add_argument("--overwrite", action="store_true",
                       help="replace OUT and its checkpoint, whatever they hold, with a fresh run")
    train.set_defaults(func=cmd_train)

    gen = sub.add_parser("generate", help="draw images, optionally with a style (and a subject) adapter")
    gen.add_argument("--base", default=default_base(), help="base model folder (aMUSEd layout) or hub id "
                     "(default: the bundled emoji-world base)")
    gen.add_argument("--adapter", action="append", help="style adapter; a second --adapter is a subject adapter")
    gen.add_argument("--prompt", action="append", required=True, help="prompt (repeat for several)")
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument("--num-images", type=int, help="images per prompt")
    gen.add_argument("--seed", type=int, help="image i uses seed + i")
    gen.add_argument("--steps", type=int, help="decoding steps (default 36)")
    gen.add_argument("--temperature", type=float, help="choice temperature at step 0 (default 4.5)")
    gen.add_argument("--token-temperature", type=float,
                     help="divides the logits before each draw (default 1.0, or the base's sampling.json)")
    gen.add_argument("--style-scale", type=float, help="lambda_A, style strength (default 1)")
    gen.add_argument("--content-scale", type=float, help="lambda_B, text fidelity (default 5)")
    gen.add_argument("--negative-prompt")
    gen.add_argument("--subject-weight", type=float, help="gamma for style + subject (default 0.6)")
    gen.add_argument("--style-image", type=Path, help="training-free shared attention to this style image "
                     "(StyleAligned), instead of an adapter; the 'adapter on' term of --style-scale")
    gen.add_argument("--style-image-caption", help="the style image's caption, e.g. 'A watermelon in [V] style'")
    gen.add_argument("--style-image-scale", type=float,
                     help="weight of the shared attention (default 1: StyleAligned's; 0: none)")
    gen.add_argument("--style-only-scale", type=float,
                     help="guidance toward the prompt's style alone ('An emoji in noto style'; with a style adapter, "
                     "the adapter's), for a base pretrained with style-only captions (default 0, or the base's "
                     "sampling.json)")
    gen.add_argument("--style-only-from", type=float,
                     help="share of the decoding steps before --style-only-scale starts (0-1)")
    gen.add_argument("--refine-passes", type=int,
                     help="corrector passes after decoding, each redrawing --refine-share of the tokens from the "
                     "rest (default 0, or the base's sampling.json)")
    gen.add_argument("--refine-share", type=float, help="share of the tokens each corrector pass redraws (default 0.25)")
    gen.add_argument("--batch-size", type=int)
    gen.add_argument("--device", default="auto")
    gen.add_argument("--config", type=Path, help="TOML file with a [generate] table")
    gen.set_defaults(func=cmd_generate)

    desc = sub.add_parser("describe", help="rank the style words the base reads in a style image, for its caption")
    desc.add_argument("--base", default=default_base(), help="base model folder (aMUSEd layout) or hub id "
                      "(default: the bundled emoji-world base)")
    desc.add_argument("--image", required=True, help="the style image")
    desc.add_argument("--content", required=True, help="what it shows, as the caption will say it: watermelon")
    desc.add_argument("--candidates", nargs="+", help="style words to rank (default: the base's styles.json)")
    desc.add_argument("--top", type=int, default=8, help="rows to print (default 8)")
    desc.add_argument("--out", type=Path, help="also draw the content with the base alone under each printed row's "
                      "words (two images each) into OUT/grid.png, the image first: to look rather than read")
    desc.add_argument("--device", default="auto")
    desc.set_defaults(func=cmd_describe)

    info = sub.add_parser("info", help="describe an adapter file or a base model folder")
    info.add_argument("path", nargs="?", default=default_base(),
                      help="adapter file, base folder or hub id (default: the bundled emoji-world base)")
    info.set_defaults(func=cmd_info)

    pre = sub.add_parser("pretrain", help="train the emoji-world base model (tokenizer + transformer)")
    pre.add_argument("--data", type=Path, default=Path("data/emoji"), help="dataset from `styledrop data emoji`")
    pre.add_argument("--work", type=Path, default=Path("runs/emoji-base"), help="checkpoints and logs (resumable)")
    pre.add_argument("--out", type=Path, default=Path("runs/emoji-base/base"), help="base model folder to write")
    pre.add_argument("--steps", type=int)
    pre.add_argument("--threads", type=int)
    pre.add_argument("--seed", type=int)
    pre.add_argument("--config", type=Path, help="TOML file with a [pretrain] table")
    pre.add_argument("--restart", action="store_true", help="ignore an existing checkpoint in --work")
    from .pretraining.pretrain import CONTENT_CHOICES

    pre.add_argument("--contents", choices=CONTENT_CHOICES,
                     help="train the transformer on the 128 base contents (default), those and the few the demo and "
                          "benchmarks draw besides (core), or the whole vocabulary (all)")
    from .world.variants import VARIANTS

    pre.add_argument("--variants", nargs="*", choices=sorted(VARIANTS), metavar="VARIANT",
                     help=f"procedural style variants to mix in (default: all of {', '.join(sorted(VARIANTS))}; "
                          "give the flag alone for none)")
    pre.add_argument("--variant-share", type=float, help="share of each batch drawn from the variants (default 0.2)")
    pre.add_argument("--init", type=Path, help="continue from this base folder's tokenizer and weights "
                     "(e.g. models/emoji-base) instead of training from scratch")
    pre.add_argument("--tokenizer", type=Path, help="train over this fitted tokenizer (a pretrain work folder's "
                     "vqvae, e.g. one with more codes; set codes to match) instead of fitting one; with --init, "
                     "each new code starts as the base's nearest old code")
    pre.add_argument("--device", default="auto", help="auto (default: cuda when present), cpu, cuda, cuda:N")
    pre.add_argument("--export-only", action="store_true",
                     help="write --out from the latest checkpoint in --work and stop (a running job keeps running)")
    pre.set_defaults(func=cmd_pretrain)

    demo = sub.add_parser("demo", help="run the offline demo end to end")
    demo.add_argument("--out", default="demo-output", help="output folder (default: demo-output)")
    demo.add_argument("--base", help="base model (default: the bundled emoji-world base)")
    demo.add_argument("--train-steps", type=int, help="adapter training steps (default 300)")
    demo.add_argument("--lr", type=float, help="adapter learning rate (default 3e-4)")
    demo.add_argument("--style-scale", type=float, help="style guidance lambda_A (default 0)")
    demo.add_argument("--content-scale", type=float, help="content guidance lambda_B (default 1)")
    demo.add_argument("--decode-steps", type=int, help="MaskGIT decoding steps per image (default 24)")
    demo.add_argument("--token-temperature", type=float, help="divides the logits before each draw "
                      "(default: the base's sampling.json)")
    demo.add_argument("--refine-passes", type=int, help="corrector passes after decoding, each redrawing a quarter "
                      "of the tokens (default: the base's sampling.json)")
    demo.add_argument("--negative-prompt", help="the negative prompt of content guidance, for both rows (default: "
                      "none, the empty prompt)")
    demo.add_argument("--descriptor", help="style words of the caption and prompts (default: the demo's, see "
                      "`styledrop describe`; '[V]' for a rare token)")
    demo.set_defaults(func=cmd_demo)

    from .evaluation.cli import register as register_score
    from .feedback.cli import register as register_feedback
    from .world.cli import register as register_data

    register_data(sub)
    register_score(sub)
    register_feedback(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():  # restores the warning hook on the way out
            warnings.showwarning = _show_warning(warnings.showwarning)
            return args.func(args)
    except StyleDropError as err:
        if args.debug:
            raise
        print(f"styledrop: error: {one_line(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("styledrop: interrupted (training checkpoints are kept; rerun with --resume)", file=sys.stderr)
        return 130


def _show_warning(show_other):
    """A warning hook that prints a StyleDropWarning as one line and leaves the others to `show_other`."""
    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, StyleDropWarning):
            return show_other(message, category, filename, lineno, file, line)
        print(f"styledrop: warning: {one_line(str(message))}", file=sys.stderr)
    return show
