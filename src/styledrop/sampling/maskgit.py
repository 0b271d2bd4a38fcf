"""MaskGIT parallel decoding as a pure function (after google-research/maskgit's parallel_decode).

`decode` never sees a model: it calls `logits_fn(tokens, step)` for (B, N, V) logits over the
codebook and owns only the schedule. Each of the K steps:

1. predict every position and sample a token from softmax(logits) for the masked ones; tokens
   that are already known are kept as they are (they are never re-masked);
2. score each sampled token by log p(token) + temperature_k * Gumbel noise; known tokens get an
   infinite score, so they always survive;
3. keep the best `N - m_k` tokens and re-mask the other m_k, where m_k = floor(N * mask_ratio(
   (k + 1) / K)), clipped so that at least one token is revealed per step and, until the last
   step, at least one stays masked.

The choice temperature anneals linearly from `temperature` to 0 (StyleDrop: 36 steps, 4.5).
`token_temperature` divides the logits before each draw (1.0, the default, is aMUSEd's
plain softmax); below 1 a small model draws fewer stray tokens.

After the K steps, `refine_passes` corrector passes may follow (Lezama et al. 2022, "Discrete
Predictor-Corrector Diffusion Models for Image Synthesis": the corrector re-masks and redraws known
tokens, which plain MaskGIT never revisits). Each pass re-masks a share `refine_share` of the
positions, predicts them from all the others and redraws them; the passes walk one random
permutation of the positions per row, so that ceil(1 / refine_share) passes revisit every token
once. A token drawn early, from little context, is redrawn from nearly all of it.

Random numbers come from the caller's `torch.Generator`, drawn in the same order as diffusers'
`AmusedScheduler.step` (one multinomial draw over all B*N positions, then one uniform tensor of
shape (B, N) for the Gumbel noise), so that with the same logits and seed both produce the same
tokens; `tests/test_sampler.py` checks it token for token.

`generator` may also be a list with one generator per row: each row then draws the same numbers
as it would alone, so an image can be reproduced from its own seed whatever batch it was in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .schedules import Schedule, mask_ratio

LogitsFn = Callable[[torch.Tensor, int], torch.Tensor]  # (tokens (B, N), step) -> logits (B, N, V)


def temperatures(start: float, steps: int) -> torch.Tensor:
    """Choice temperature per step: linear from `start` to 0 (aMUSEd's default is (2, 0))."""
    return torch.linspace(start, 0.0, steps)


Generators = torch.Generator | Sequence[torch.Generator]


def gumbel(shape: tuple[int, ...], generator: Generators, device: torch.device) -> torch.Tensor:
    """Standard Gumbel noise, -log(-log(u)), drawn on the generator's device; shape (B, N)."""
    if not isinstance(generator, torch.Generator):  # one generator per row
        return torch.cat([gumbel((1, *shape[1:]), g, device) for g in generator])
    u = torch.zeros(shape, device=generator.device).uniform_(0, 1, generator=generator).to(device)
    return -torch.log((-torch.log(u.clamp(1e-20))).clamp(1e-20))


def sample_tokens(probs: torch.Tensor, generator: Generators) -> torch.Tensor:
    """One categorical draw per position: probs (B, N, V) -> ids (B, N)."""
    if not isinstance(generator, torch.Generator):  # one generator per row
        return torch.cat([sample_tokens(probs[i : i + 1], g) for i, g in enumerate(generator)])
    flat = probs.to(generator.device).reshape(-1, probs.shape[-1])
    if flat.device.type == "cpu" and flat.dtype != torch.float32:
        flat = flat.float()  # torch.multinomial has no CPU half kernel
    ids = torch.multinomial(flat, 1, generator=generator)[:, 0]
    return ids.to(probs.device).view(probs.shape[:-1])


def masked_count(step: int, steps: int, seq_len: int, schedule: Schedule, still_masked: torch.Tensor) -> torch.Tensor:
    """How many tokens stay masked after `step` (0-based) of `steps`, per row: (B, 1) long."""
    ratio = mask_ratio(torch.tensor(step + 1) / steps, schedule)  # float32, as in AmusedScheduler
    target = torch.floor(seq_len * ratio).long().to(still_masked.device)
    # never more than were masked before minus one (reveal at least one), never fewer than one
    count = torch.minimum(still_masked.sum(dim=-1, keepdim=True) - 1, target)
    return count.clamp(min=1)


def decode_step(
    logits: torch.Tensor,
    tokens: torch.Tensor,
    step: int,
    steps: int,
    *,
    mask_id: int,
    temperature: float | torch.Tensor,
    generator: Generators,
    schedule: Schedule = "cosine",
    token_temperature: float = 1.0,
) -> torch.Tensor:
    """One MaskGIT step: logits (B, N, V), tokens (B, N) -> tokens (B, N) with fewer masks."""
    unknown = tokens == mask_id  # (B, N)
    probs = (logits / token_temperature if token_temperature != 1.0 else logits).softmax(dim=-1)  # (B, N, V)
    sampled = torch.where(unknown, sample_tokens(probs, generator), tokens)
    if step == steps - 1:
        return sampled

    keep_masked = masked_count(step, steps, tokens.shape[1], schedule, unknown)  # (B, 1)
    chosen = torch.gather(probs, -1, sampled[..., None])[..., 0]  # (B, N)
    chosen = torch.where(unknown, chosen, torch.finfo(chosen.dtype).max)  # known tokens always win
    confidence = torch.log(chosen.clamp(1e-20)) + temperature * gumbel(chosen.shape, generator, chosen.device)
    cutoff = torch.gather(torch.sort(confidence, dim=-1).values, 1, keep_masked)  # (B, 1)
    return torch.where(confidence < cutoff, mask_id, sampled)


def refine(
    logits_fn: LogitsFn,
    tokens: torch.Tensor,
    *,
    passes: int,
    share: float,
    step: int,
    mask_id: int,
    generator: Generators,
    token_temperature: float = 1.0,
    given: torch.Tensor | None = None,
    on_pass: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Corrector passes over fully known tokens (B, N): re-mask a share of them, redraw it from the rest;
    positions where `given` (B, N) is True are never re-masked."""
    order = gumbel(tokens.shape, generator, tokens.device).argsort(dim=-1)  # a random permutation per row
    seq_len = tokens.shape[1]
    group = max(1, min(seq_len, round(seq_len * share)))
    for index in range(passes):
        start = (index * group) % seq_len
        positions = order.roll(-start, dims=1)[:, :group]  # (B, group), wrapping round the permutation
        masked = tokens.scatter(1, positions, mask_id)
        if given is not None:
            masked = torch.where(given, tokens, masked)
        logits = logits_fn(masked, step)  # (B, N, V)
        probs = (logits / token_temperature if token_temperature != 1.0 else logits).softmax(dim=-1)
        tokens = torch.where(masked == mask_id, sample_tokens(probs, generator), tokens)
        if on_pass is not None:
            on_pass(tokens)
    return tokens


def decode(
    logits_fn: LogitsFn,
    *,
    batch_size: int,
    seq_len: int,
    mask_id: int,
    steps: int,
    generator: Generators,
    temperature: float = 4.5,
    schedule: Schedule = "cosine",
    token_temperature: float = 1.0,
    device: torch.device | str = "cpu",
    initial: torch.Tensor | None = None,
    on_step: Callable[[int, torch.Tensor], None] | None = None,
    refine_passes: int = 0,
    refine_share: float = 0.25,
) -> torch.Tensor:
    """Decode token ids (B, N) from all-[MASK] (or from `initial`, whose known tokens stay), then run
    `refine_passes` corrector passes (module docstring); `on_step` sees each step and each pass."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if initial is None:
        tokens = torch.full((batch_size, seq_len), mask_id, dtype=torch.long, device=device)
    else:
        tokens = initial.to(device=device, dtype=torch.long).clone()
    temps = temperatures(temperature, steps)
    for step in range(steps):
        logits = logits_fn(tokens, step)  # (B, N, V)
        tokens = decode_step(
            logits, tokens, step, steps,
            mask_id=mask_id, temperature=temps[step], generator=generator, schedule=schedule,
            token_temperature=token_temperature,
        )
        if on_step is not None:
            on_step(step, tokens)
    if refine_passes:
        tokens = refine(
            logits_fn, tokens, passes=refine_passes, share=refine_share, step=steps - 1, mask_id=mask_id,
            generator=generator, token_temperature=token_temperature,
            given=None if initial is None else initial.to(device=device) != mask_id,
            on_pass=(lambda t: on_step(steps - 1, t)) if on_step is not None else None,
        )
    return tokens
