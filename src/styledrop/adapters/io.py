"""Adapter files: one safetensors file, the tensors plus string metadata.

Metadata keys (all strings; JSON where structured):

    format            "styledrop-adapter"      format_version  "1"
    adapter_config    AdapterConfig as JSON    library_version styledrop version
    base_id           the base's folder/hub id base_hash       hash of the base transformer's weights
    captions          JSON list                style_descriptor e.g. "[V]"
    training          JSON training config     seed            the training seed
    lineage           JSON (round, parent adapter hash, selection policy, counts), optional
    reference_png     base64 PNG of the style reference at the base's resolution, as round 1 was
                      trained on it (later rounds keep round 1's); `feedback pool` draws on it

`load_adapter_file` refuses files that are not adapters, and crafted or damaged ones (a config
outside `AdapterConfig`'s types and bounds, NaN or infinite tensors); `attach_adapter_file` refuses
an adapter trained on another base, naming both.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import save_file

from .. import __version__
from ..config import settings_from_dict
from ..errors import StyleDropError
from ..files import read_safetensors, write_safetensors
from ..images import MAX_PIXELS
from .base import Adapter, AdapterConfig
from .factory import new_adapter

FORMAT = "styledrop-adapter"
FORMAT_VERSION = "1"


@dataclass
class AdapterFile:
    config: AdapterConfig
    tensors: dict[str, torch.Tensor]
    base_id: str
    base_hash: str
    captions: list[str] = field(default_factory=list)
    style_descriptor: str = ""
    training: dict = field(default_factory=dict)
    seed: int | None = None
    lineage: dict = field(default_factory=dict)
    reference_png: bytes = b""  # PNG bytes; empty in files written before styledrop recorded it
    library_version: str = __version__
    path: Path | None = None

    def metadata(self) -> dict[str, str]:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "library_version": self.library_version,
            "adapter_config": json.dumps(self.config.to_dict()), "base_id": self.base_id, "base_hash": self.base_hash,
            "captions": json.dumps(self.captions), "style_descriptor": self.style_descriptor,
            "training": json.dumps(self.training), "seed": "" if self.seed is None else str(self.seed),
            "lineage": json.dumps(self.lineage), "reference_png": base64.b64encode(self.reference_png).decode(),
        }

    def reference_image(self) -> Image.Image | None:
        """The recorded style reference as an RGB image, or None when the file records none."""
        if not self.reference_png:
            return None
        try:
            image = Image.open(io.BytesIO(self.reference_png), formats=["PNG"])
            if image.width * image.height > MAX_PIXELS:
                raise ValueError(f"{image.width}x{image.height} pixels is over the {MAX_PIXELS:,} allowed")
            return image.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as err:
            raise StyleDropError(f"{self.path}: the reference image recorded in its metadata is damaged ({err}); "
                                 "pass --reference with the image the adapter was trained on") from err

    def content_hash(self) -> str:
        """sha256 of the tensors (first 16 hex digits): names this adapter in lineage and manifests."""
        digest = hashlib.sha256()
        for name in sorted(self.tensors):
            digest.update(name.encode())
            digest.update(self.tensors[name].detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()[:16]


def png_bytes(image: Image.Image) -> bytes:
    """`image` as PNG bytes (lossless: the reference comes back pixel for pixel)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def save_adapter_file(file: AdapterFile, path: Path) -> None:
    """Write atomically: a temp file in the same folder, then rename."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in file.tensors.items()}
    write_safetensors(tensors, Path(path), file.metadata())


def load_adapter_file(path: str | os.PathLike) -> AdapterFile:
    path = Path(path)
    if not path.is_file():
        raise StyleDropError(f"adapter file not found: {path}")
    tensors, meta = read_safetensors(path, "pass an adapter file written by `styledrop train`")
    if meta.get("format") != FORMAT:
        raise StyleDropError(f"{path} is a safetensors file but not a styledrop adapter (no format={FORMAT} metadata)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise StyleDropError(f"{path}: adapter format version {meta.get('format_version')!r} is not supported "
                             f"(this styledrop reads {FORMAT_VERSION}); upgrade styledrop")
    damaged = [name for name, tensor in tensors.items() if not torch.isfinite(tensor).all()]
    if damaged:
        raise StyleDropError(f"{path}: tensor {damaged[0]!r} holds NaN or infinite values; the adapter is damaged "
                             "(did its training diverge?): retrain it")
    try:
        settings = json.loads(meta["adapter_config"])
        if not isinstance(settings, dict):
            raise TypeError(f"adapter_config is {settings!r}, not an object")
        config = settings_from_dict(AdapterConfig, settings, where=f"{path} (adapter_config metadata)")
        return AdapterFile(
            config=config, tensors=tensors, base_id=meta["base_id"], base_hash=meta["base_hash"],
            captions=json.loads(meta.get("captions", "[]")), style_descriptor=meta.get("style_descriptor", ""),
            training=json.loads(meta.get("training", "{}")), seed=int(meta["seed"]) if meta.get("seed") else None,
            lineage=json.loads(meta.get("lineage", "{}")),
            reference_png=base64.b64decode(meta.get("reference_png", ""), validate=True),
            library_version=meta.get("library_version", "?"), path=path,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise StyleDropError(f"{path}: damaged adapter metadata ({err}); retrain or re-export the adapter") from err


def attach_adapter_file(base, file: AdapterFile, name: str = "styledrop") -> Adapter:
    """Attach a loaded adapter to `base` (a BaseModel), refusing one trained on another base."""
    if file.base_hash != base.transformer_hash():
        raise StyleDropError(
            f"adapter {file.path or ''} was trained on base {file.base_id!r} (weights {file.base_hash!r}), "
            f"but the base given is {base.name!r} (weights {base.transformer_hash()}); pass --base {file.base_id!r}"
        )
    adapter = new_adapter(file.config, base.transformer, name=name)
    try:
        adapter.load_adapter_state({k: v.to(base.device) for k, v in file.tensors.items()})
    except (RuntimeError, ValueError) as err:
        adapter.detach()
        raise StyleDropError(f"adapter {file.path} does not fit base '{base.name}': {err}") from err
    return adapter


def export_diffusers_lora(file: AdapterFile, path: Path) -> None:
    """Write a LoRA adapter in the layout `UVit2DModel.load_lora_adapter` reads (prefix "transformer.")."""
    if file.config.kind != "lora":
        raise StyleDropError(f"only lora adapters export to diffusers' LoRA format; {file.path} is '{file.config.kind}'")
    save_file({f"transformer.{k}": v.contiguous() for k, v in file.tensors.items()}, str(path))
