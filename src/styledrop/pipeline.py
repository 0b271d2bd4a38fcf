"""StyleDropPipeline: prompts -> images, composing base, adapters, guidance and the sampler.

Every decoding step runs ONE batched transformer forward over all guidance terms; adapters are
switched on per row by their gates (`adapters.gates`). For B images the rows are:

    no adapter                 [base@n, base@t]                        plain CFG, s = lambda_B + 1
                               [base@n, base@t, base@a]                ... + w * (a - n): style_only_scale
    style adapter              [ft@t, base@t, base@n]                  Eq. 4
                               [ft@t, base@t, base@n, ft@a, ft@n]      ... + w * (ft@a - ft@n): style_only_scale
    subject adapter            [ft@t, base@t, base@n]                  Eq. 4
    style + subject            [style@t, base@t, base@n, subj@t', base@t']   Eqs. 5-6

where t is the prompt, n the negative prompt, t' the prompt without the style descriptor and a
the prompt's style alone ("A cow in noto style" -> "An emoji in noto style"; n for a prompt that
names no style): composable guidance (Liu et al. 2022) with the style as one concept, for a base
pretrained with style-only captions, from a share `style_only_from` of the decoding steps on.
A style adapter that reads a reference row (shared attention to a style image,
`adapters/shared_attention.py`) gets one more row at the end, [... , ref@caption]: the reference's
tokens, fully known, never decoded; its logits are dropped. Image i is drawn with its own
generator seeded `seed + i`, so it can be redrawn alone.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal

import torch

from .adapters.base import Adapter, ReferenceRow
from .adapters.gates import gated
from .base import BaseModel
from .base.text import TextEmbedding, warn_if_cut
from .captions import strip_style, style_only
from .config import load_settings, setting
from .progress import progress_bar
from .sampling.guidance import cfg, mix, two_scale
from .sampling.maskgit import LogitsFn, decode


@dataclass(frozen=True)
class SampleConfig:
    steps: int = setting(36, at_least=1)  # StyleDrop: 36 decoding steps
    temperature: float = setting(4.5, at_least=0)  # choice temperature at step 0, annealed linearly to 0
    token_temperature: float = setting(1.0, above=0)  # divides the logits before each draw (1.0: aMUSEd's)
    style_scale: float = 1.0  # lambda_A (paper round 1: 0-2)
    content_scale: float = 5.0  # lambda_B (paper: 5)
    negative_prompt: str = ""
    num_images: int = setting(1, at_least=1)  # per prompt
    seed: int = 0
    schedule: Literal["cosine", "linear"] = "cosine"
    subject_weight: float = 0.6  # gamma, style + subject only (paper: 0.5-0.7)
    style_image_scale: float = 1.0  # weight of the shared attention to a style image (0: none; 1: StyleAligned's)
    batch_size: int = setting(8, at_least=1)  # images decoded together
    # Composable guidance toward the prompt's style alone (module docstring): the base's, or with a style
    # adapter the adapter's ("An emoji in [V] style" with the adapter on); not used with a subject adapter.
    style_only_scale: float = 0.0
    style_only_from: float = setting(0.0, at_least=0, at_most=1)  # share of the decoding steps before it starts
    # Corrector passes after decoding (sampling/maskgit.py): each re-masks refine_share of the tokens
    # and redraws them from the rest, under the same guidance as the last step.
    refine_passes: int = setting(0, at_least=0)
    refine_share: float = setting(0.25, above=0, at_most=1)

    @property
    def forward_passes(self) -> int:
        """Transformer forwards per batch of images: the decoding steps and the corrector passes."""
        return self.steps + self.refine_passes


def sampler_settings(base: BaseModel, toml_path=None, overrides: dict | None = None, *,
                     styled: bool = False) -> SampleConfig:
    """SampleConfig from its defaults, then the base's sampling.json (`styled`: with its settings for
    drawing with a style adapter on top), then a TOML [generate] table, then flags."""
    defaults = base.sampling | (base.sampling_styled if styled else {})
    return load_settings(SampleConfig, toml_path, overrides, section="generate", defaults=defaults,
                         defaults_where=f"{base.name}/sampling.json")


@dataclass
class Generated:
    prompt: str
    seed: int
    tokens: torch.Tensor  # (h, w)
    image: object = None  # PIL image once decoded


class StyleDropPipeline:
    def __init__(self, base: BaseModel, style: Adapter | None = None, subject: Adapter | None = None,
                 style_descriptor: str = ""):
        self.base, self.style, self.subject, self.style_descriptor = base, style, subject, style_descriptor

    def forward_rows(self, tokens: torch.Tensor, text: TextEmbedding, gates: dict[Adapter, torch.Tensor]) -> torch.Tensor:
        """One transformer forward: tokens (R, N), text rows (R, ...) -> logits (R, N, V)."""
        rows = tokens.shape[0]
        height, width = self.base.grid
        autocast = torch.autocast("cuda", torch.bfloat16) if tokens.device.type == "cuda" else nullcontext()
        with torch.no_grad(), gated(gates), autocast:
            logits = self.base.transformer(
                tokens.view(rows, height, width), encoder_hidden_states=text.states,
                pooled_text_emb=text.pooled, micro_conds=self.base.micro_conds(rows),
            )  # (R, V, h, w)
        return logits.flatten(2).transpose(1, 2).float()  # (R, N, V)

    def _plan(self, prompts: list[str], config: SampleConfig):
        """Text rows and gates for the batch, and how to combine the row blocks' logits."""
        adapters = [a for a in (self.style, self.subject) if a is not None]
        reference = self.reference_row()
        extra = [reference.caption] if reference is not None else []
        style_term = bool(config.style_only_scale) and self.subject is None  # the base's, or the style adapter's
        alone = [style_only(p) or config.negative_prompt for p in prompts] if style_term else []
        unique = sorted({*prompts, config.negative_prompt, *(strip_style(p, self.style_descriptor) for p in prompts),
                         *extra, *alone})
        table = dict(zip(unique, range(len(unique))))
        encoded = self.base.text_encoder.encode(unique).to(self.base.device)

        def texts(items: list[str]) -> TextEmbedding:
            return encoded.index([table[item] for item in items])

        b = len(prompts)
        negative = [config.negative_prompt] * b
        style_on = [0]  # the blocks in which the style adapter is on

        def push(alone_logits, negative_logits, k):  # the style-only term at share k of the steps
            return config.style_only_scale * (k >= config.style_only_from) * (alone_logits - negative_logits)

        if not adapters and style_term:
            blocks = [negative, prompts, alone]
            combine = lambda out, k: cfg(out[1], out[0], config.content_scale + 1) + push(out[2], out[0], k)  # noqa: E731
        elif not adapters:
            blocks = [negative, prompts]
            combine = lambda out, k: cfg(out[1], out[0], config.content_scale + 1)  # noqa: E731  (blocks: negative, prompt)
        elif self.style is not None and style_term:
            blocks, style_on = [prompts, prompts, negative, alone, negative], [0, 3, 4]
            combine = lambda out, k: (two_scale(out[0], out[1], out[2], config.style_scale, config.content_scale)  # noqa: E731
                                      + push(out[3], out[4], k))
        elif self.style is None or self.subject is None:
            blocks = [prompts, prompts, negative]
            combine = lambda out, k: two_scale(out[0], out[1], out[2], config.style_scale, config.content_scale)  # noqa: E731
        else:
            plain = [strip_style(p, self.style_descriptor) for p in prompts]
            blocks = [prompts, prompts, negative, plain, plain]

            def combine(out, k):
                style = two_scale(out[0], out[1], out[2], config.style_scale, config.content_scale)
                subject = two_scale(out[3], out[4], out[2], config.style_scale, config.content_scale)
                return mix(style, subject, config.subject_weight)

        text = TextEmbedding.cat([texts(block) for block in (blocks + [extra] if extra else blocks)])
        on_blocks = {self.style: style_on, self.subject: [3] if self.style is not None else [0]}
        gates = {}
        for adapter in adapters:
            gate = torch.zeros(len(blocks) * b + len(extra), device=self.base.device)
            for block in on_blocks[adapter]:
                gate[block * b : (block + 1) * b] = 1
            gates[adapter] = gate
        return len(blocks), text, gates, combine

    def reference_row(self) -> ReferenceRow | None:
        """The style adapter's reference row (shared attention), or None; it cannot pair with a subject."""
        reference = getattr(self.style, "reference", None)
        if reference is not None and self.subject is not None:
            raise ValueError("shared attention to a style image does not combine with a subject adapter")
        return reference

    def guided_logits(self, prompts: list[str], config: SampleConfig) -> LogitsFn:
        """This pipeline's guidance rule for `prompts` (Eq. 4 and its variants, module docstring):
        `logits_fn(tokens (B, N), step) -> (B, N, V)`, as `decode_with` takes it. Wrap it, or write
        another rule on `forward_rows`, to sample with other guidance."""
        blocks, text, gates, combine = self._plan(prompts, config)
        b = len(prompts)
        reference = self.reference_row()
        extra = None if reference is None else reference.tokens.to(self.base.device).view(1, -1)  # (1, N)

        def logits_fn(tokens: torch.Tensor, step: int) -> torch.Tensor:
            rows = tokens.repeat(blocks, 1) if extra is None else torch.cat([tokens.repeat(blocks, 1), extra])
            logits = self.forward_rows(rows, text, gates)  # (blocks * B [+ 1], N, V)
            return combine(logits[: blocks * b].split(b), step / config.steps)  # k: the share of steps done

        return logits_fn

    def decode_with(self, logits_fn: LogitsFn, seeds: list[int], config: SampleConfig, progress=None) -> torch.Tensor:
        """MaskGIT-decode one image per seed under a guidance rule: (B, h, w), image i from a generator
        seeded seeds[i]; `progress` (a bar from styledrop.progress) advances once per transformer forward."""
        # On the base's device: a CPU generator would pull every step's (B, N, V) probabilities back to the
        # CPU to draw from them (1.6 s per image for an aMUSEd-256-sized model on an H200). Images differ
        # between devices anyway (bf16 on CUDA); on one device a seed still gives one image.
        generators = [torch.Generator(device=self.base.device).manual_seed(s) for s in seeds]
        height, width = self.base.grid
        tokens = decode(
            logits_fn, batch_size=len(seeds), seq_len=height * width, mask_id=self.base.mask_id, steps=config.steps,
            generator=generators, temperature=config.temperature, schedule=config.schedule, device=self.base.device,
            token_temperature=config.token_temperature, refine_passes=config.refine_passes,
            refine_share=config.refine_share,
            on_step=(lambda *_: progress.update(1)) if progress is not None else None,
        )
        return tokens.view(len(seeds), height, width)

    def sample_tokens(self, prompts: list[str], seeds: list[int], config: SampleConfig,
                      progress=None) -> torch.Tensor:
        """Decode one image per prompt with this pipeline's guidance, image i seeded seeds[i]: (B, h, w)."""
        return self.decode_with(self.guided_logits(prompts, config), seeds, config, progress)

    def generate(self, prompts: list[str], config: SampleConfig, show_progress: bool = True) -> list[Generated]:
        from .images import tensor_to_image

        warn_if_cut(self.base.text_encoder, [*prompts, config.negative_prompt])
        jobs = [(p, config.seed + i) for i, p in enumerate(p for p in prompts for _ in range(config.num_images))]
        chunks = [jobs[i : i + config.batch_size] for i in range(0, len(jobs), config.batch_size)]
        results: list[Generated] = []
        total = len(chunks) * config.forward_passes
        with progress_bar(total=total, desc="sampling", unit="step", disable=not show_progress) as bar:
            for chunk in chunks:
                tokens = self.sample_tokens([p for p, _ in chunk], [s for _, s in chunk], config, bar)
                pixels = self.base.image_tokenizer.decode(tokens).cpu()
                for (prompt, seed), ids, image in zip(chunk, tokens.cpu(), pixels):
                    results.append(Generated(prompt, seed, ids, tensor_to_image(image)))
        return results
