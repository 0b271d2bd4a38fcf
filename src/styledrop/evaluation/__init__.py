"""Evaluation: the scorers that play CLIP's role in the paper, and the numbers built on them.

- `model`: the scorer network (a small ResNet, three heads, a text projection) and its sizes;
- `labels`, `weights`: what its outputs mean, and the folder that holds it (`models/scorers`);
- `captions`, `data`, `training`, `accuracy`: how it is trained and measured on the emoji world;
- `prompts`: which vocabulary content a free-text prompt names;
- `scorers`: `Scorers`, text score, style score, style and content classification on PIL images;
- `leakage`: the share of images that show the reference's content instead of the prompted one;
- `features`, `kid`, `realism`: KID, a realism measure on EfficientNet-Lite0 features, against the
  real images of a style set (what `benchmarks/base_quality.py` and the demo report);
- `cli`: `styledrop score` (`score_folder` computes what it prints);
- `runs`: the headline numbers of one StyleDrop run from `score_folder`'s result.
"""

from .leakage import content_leakage, leakage_rate
from .scorers import Scorers

__all__ = ["Scorers", "content_leakage", "leakage_rate"]
