"""Random base models built from code, for tests and benchmarks (no download).

`make_random_base(path, size=...)` writes a complete aMUSEd-layout folder whose shapes follow
diffusers' own aMUSEd tests. Sizes:

- ``tiny``: a few thousand transformer parameters, 16x16 images, 8x8 tokens; for unit tests.
- ``bench``: a few million parameters, 64x64 images, 16x16 tokens, codebook 512; big enough that
  timing the sampler measures the model and the sampler, not Python overhead.
- ``amused-256``: aMUSEd-256's transformer shape (256x256 images, 16x16 tokens, 8192 codes); GPU timing.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import UVit2DModel, VQModel

from .base import BaseModel, save_base
from .base.tokenizer import VQTokenizer


@dataclass(frozen=True)
class RandomSize:
    hidden: int
    layers: int
    heads: int
    block_channels: int
    codebook: int
    grid: int  # tokens per side
    vq_blocks: int  # VQ downscale = 2 ** (vq_blocks - 1)
    text_hidden: int  # CLIP width (MiniLM is always 384)


SIZES = {
    "tiny": RandomSize(hidden=32, layers=2, heads=2, block_channels=16, codebook=16, grid=8, vq_blocks=2, text_hidden=8),
    "bench": RandomSize(hidden=256, layers=6, heads=4, block_channels=128, codebook=512, grid=16, vq_blocks=3, text_hidden=64),
    # aMUSEd-256's transformer width, depth, token grid and codebook (its text encoder is CLIP-L's 768
    # channels, here 2 layers deep); for timing on a GPU (benchmarks/device_speed.py), not for tests.
    "amused-256": RandomSize(hidden=1024, layers=22, heads=16, block_channels=768, codebook=8192, grid=16,
                             vq_blocks=5, text_hidden=768),
}


def random_transformer(size: RandomSize, text_hidden: int) -> UVit2DModel:
    model = UVit2DModel(
        hidden_size=size.hidden, use_bias=False, cond_embed_dim=text_hidden, micro_cond_encode_dim=2,
        micro_cond_embed_dim=10, encoder_hidden_size=text_hidden,
        vocab_size=size.codebook + 1, codebook_size=size.codebook,  # the last id is [MASK]
        in_channels=size.block_channels, block_out_channels=size.block_channels, num_res_blocks=1,
        block_num_heads=1, num_hidden_layers=size.layers, num_attention_heads=size.heads,
        intermediate_size=size.hidden * 2, sample_size=size.grid,
    )
    # The logits come out of an RMS-normed layer, so their range is capped by the head's weights.
    # A trained head is confident; a freshly initialised one caps logits near +-1, and then no
    # adapter could fit even one image. Scale it up to behave like a trained head.
    with torch.no_grad():
        model.mlm_layer.conv2.weight.mul_(10.0)
    return model


def random_vq(size: RandomSize) -> VQModel:
    channels = [8 * 2**i for i in range(size.vq_blocks)]
    return VQModel(
        act_fn="silu", block_out_channels=channels, down_block_types=["DownEncoderBlock2D"] * size.vq_blocks,
        up_block_types=["UpDecoderBlock2D"] * size.vq_blocks, in_channels=3, out_channels=3, latent_channels=8,
        layers_per_block=1, norm_num_groups=8, num_vq_embeddings=size.codebook, sample_size=size.grid,
        mid_block_add_attention=False, lookup_from_codebook=True,
    )


def tiny_clip(width: int, folder: Path):
    """A CLIP text encoder of `width` channels and a character-level CLIP tokenizer (no download)."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    from .base.text.clip import ClipTextEncoder

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {}
    for char in _byte_chars():
        vocab[char] = len(vocab)
    for char in _byte_chars():
        vocab[char + "</w>"] = len(vocab)
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16)
    config = CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=width, intermediate_size=width * 2, num_hidden_layers=2,
        num_attention_heads=1, projection_dim=width, max_position_embeddings=16,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    return ClipTextEncoder(CLIPTextModelWithProjection(config), tokenizer)


def _byte_chars() -> list[str]:
    """GPT-2/CLIP's printable stand-ins for the 256 byte values."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(extra))]


def make_random_base(path: Path, *, size: str = "tiny", text: str = "clip", seed: int = 0) -> BaseModel:
    """Build a random base, save it to `path` in aMUSEd layout, and return it (on CPU)."""
    spec = SIZES[size]
    with torch.random.fork_rng(devices=[]):  # module constructors draw from the global RNG; keep the caller's
        torch.manual_seed(seed)
        if text == "clip":
            with tempfile.TemporaryDirectory() as vocab_dir:
                encoder = tiny_clip(spec.text_hidden, Path(vocab_dir))
            text_hidden = spec.text_hidden
        elif text == "minilm":
            from .base.text.minilm import MiniLMTextEncoder

            encoder, text_hidden = MiniLMTextEncoder(), MiniLMTextEncoder.hidden_size
        else:
            raise ValueError(f"text must be 'clip' or 'minilm', got {text!r}")
        base = BaseModel(
            name=str(path), transformer=random_transformer(spec, text_hidden).eval().requires_grad_(False),
            image_tokenizer=VQTokenizer(random_vq(spec)), text_encoder=encoder, mask_id=spec.codebook,
        )
    save_base(base, Path(path))
    return base
