"""`PositionalUVit2DModel`: diffusers' UVit2DModel with a learned position table.

UVit2DModel's only sense of place is the zero padding of its 3x3 depthwise convolutions, so from
an all-[MASK] start every interior position gets the same logits (measured on the first emoji
base: identical to the last digit at (5, 5) and (9, 9)) and MaskGIT draws texture, not shapes.
With ``learned_positions=True`` the model owns a (1, C, h, w) parameter, ``position_embedding``,
added to the output of the token embedding (``embed``) before the down block:

    hidden = embed(ids) + position_embedding        # (B, C, h, w), C = block_out_channels

Everything else is UVit2DModel's own forward. The flag is in ``config.json`` and the table in
the diffusers weight file, so ``PositionalUVit2DModel.from_pretrained(folder)`` loads the whole
model (``_class_name`` in the config names this class; diffusers' ``UVit2DModel`` would drop the
table). Folders written before the table joined the weights (a UVit2DModel config and the table
in ``position_embedding.safetensors`` beside it) load through `from_legacy_folder`.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import torch
from diffusers import UVit2DModel
from diffusers.configuration_utils import register_to_config
from safetensors.torch import load_file
from torch import nn

from ..errors import StyleDropError

LEGACY_FILE = "position_embedding.safetensors"  # the table's own file in the old layout
LEGACY_KEY = "position_embedding"  # its one tensor there
WEIGHTS = "diffusion_pytorch_model.safetensors"
UVIT_ARGUMENTS = tuple(inspect.signature(UVit2DModel.__init__).parameters)[1:]  # all but self


class PositionalUVit2DModel(UVit2DModel):
    """UVit2DModel plus, with `learned_positions`, a table added after the token embedding."""

    # ConfigMixin reads a model's config keys from its __init__ signature, so UVit2DModel's are listed again.
    @register_to_config
    def __init__(
        self,
        hidden_size: int = 1024,
        use_bias: bool = False,
        hidden_dropout: float = 0.0,
        cond_embed_dim: int = 768,
        micro_cond_encode_dim: int = 256,
        micro_cond_embed_dim: int = 1280,
        encoder_hidden_size: int = 768,
        vocab_size: int = 8256,
        codebook_size: int = 8192,
        in_channels: int = 768,
        block_out_channels: int = 768,
        num_res_blocks: int = 3,
        downsample: bool = False,
        upsample: bool = False,
        block_num_heads: int = 12,
        num_hidden_layers: int = 22,
        num_attention_heads: int = 16,
        attention_dropout: float = 0.0,
        intermediate_size: int = 2816,
        layer_norm_eps: float = 1e-6,
        ln_elementwise_affine: bool = True,
        sample_size: int = 64,
        learned_positions: bool = False,
    ):
        given = locals()
        super().__init__(**{name: given[name] for name in UVIT_ARGUMENTS})
        if not learned_positions:
            self.register_parameter("position_embedding", None)
            return
        # Zero: a no-op until trained. A parameter, not a buffer: it trains with the weights and is in
        # the state dict (and so in the base hash) under this name.
        self.position_embedding = nn.Parameter(torch.zeros(1, block_out_channels, sample_size, sample_size))
        # A hook inside the model rather than a copy of UVit2DModel.forward: the sum is the only change.
        self.embed.register_forward_hook(self._add_positions)

    def _add_positions(self, _embed: nn.Module, _inputs, tokens: torch.Tensor) -> torch.Tensor:
        return tokens + self.position_embedding.to(tokens.dtype)  # (B, C, h, w) + (1, C, h, w)

    @classmethod
    def from_legacy_folder(cls, folder: Path) -> PositionalUVit2DModel:
        """A transformer folder in the old layout: UVit2DModel config and weights, the table in LEGACY_FILE.

        Loads like `from_pretrained` does (weights cast to float32, model in eval mode), and draws no
        random numbers: the model is built on the meta device and takes the file's tensors.
        """
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        if config.get("_class_name") != UVit2DModel.__name__:
            raise StyleDropError(f"{folder / 'config.json'} names {config.get('_class_name')!r}, not UVit2DModel; "
                                 f"only a UVit2DModel folder has its position table in {LEGACY_FILE}")
        state = load_file(str(folder / WEIGHTS))
        state["position_embedding"] = load_file(str(folder / LEGACY_FILE))[LEGACY_KEY]
        with torch.device("meta"):
            model = cls.from_config(config | {"learned_positions": True})
        try:
            model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True, assign=True)
        except RuntimeError as err:
            raise StyleDropError(f"{folder} does not hold the weights its config.json describes ({err}); "
                                 "re-export the base folder") from err
        return model.eval()
