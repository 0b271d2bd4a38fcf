"""What a base model is: the frozen parts StyleDrop tunes an adapter on, and their folder.

    folder.py           BaseModel; load/save a base folder in diffusers' aMUSEd layout, hub ids,
                        the weight hash, the base's sampling.json and training.json
    tokenizer.py        image <-> token grid: diffusers' VQModel, and reading either kind of tokenizer folder
    patch_tokenizer.py  a k-means codebook over 2 x 2 pixel patches (the emoji base's tokenizer)
    position.py         PositionalUVit2DModel: UVit2DModel plus a learned position table
    text/               the text encoders: one interface; CLIP (aMUSEd), MiniLM (the emoji base)

`from styledrop.base import load_base` is the way in; the names below are the folder's.
"""

from .folder import (
    AESTHETIC_SCORE,
    HUB_ID,
    BaseModel,
    base_training_defaults,
    hash_state_dict,
    load_base,
    load_transformer,
    save_base,
)

__all__ = ["AESTHETIC_SCORE", "HUB_ID", "BaseModel", "base_training_defaults", "hash_state_dict", "load_base",
           "load_transformer", "save_base"]
