"""The plumbing demo: train -> generate end to end on a RANDOM tiny base built on the spot.

`styledrop demo` runs it while the checkout has no bundled emoji-world base (models/emoji-base):
its pictures are noise; it shows that the loop works offline and which files come out, not
StyleDrop's quality.
"""

from __future__ import annotations

import time
from pathlib import Path

from PIL import Image, ImageDraw

from .adapters.io import load_adapter_file
from .base import load_base
from .generation import generate_to_folder
from .images import image_to_tensor, save_png_atomic
from .pipeline import SampleConfig
from .tiny import make_random_base
from .training.loop import TrainConfig, train_adapter

PROMPTS = ["A cow in [V] style", "A piano in [V] style", "A banana in [V] style", "A house in [V] style"]


def style_image(size: int) -> Image.Image:
    """A synthetic 'style' picture: flat colours and bold outlines."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    s = size
    draw.ellipse((s * 0.1, s * 0.15, s * 0.9, s * 0.95), fill=(46, 160, 67), outline="black", width=max(1, s // 20))
    draw.ellipse((s * 0.2, s * 0.25, s * 0.8, s * 0.85), fill=(235, 64, 52), outline="black", width=max(1, s // 32))
    return image


def run_plumbing_demo(out: Path) -> None:
    start = time.time()
    out.mkdir(parents=True, exist_ok=True)
    print("demo: building a random base model (the bundled emoji-world base is not available yet)")
    make_random_base(out / "base", size="tiny", seed=0)
    base = load_base(out / "base")
    reference = style_image(base.resolution)
    save_png_atomic(reference, out / "reference.png")
    print("demo: training a StyleDrop adapter on reference.png for 20 steps")
    train_adapter(base, image_to_tensor(reference)[None], ["A watermelon in [V] style"],
                  TrainConfig(steps=20, lr=3e-2, checkpoint_every=10), out / "adapter.safetensors", style_descriptor="[V]")
    print("demo: drawing 4 prompts x 2 images")
    generate_to_folder(base, PROMPTS, SampleConfig(steps=12, num_images=2), out / "images",
                       style=load_adapter_file(out / "adapter.safetensors"))
    print(f"demo: done in {time.time() - start:.0f} s; see {out / 'images' / 'grid.png'} and generation.json")
