"""KID, the kernel inception distance (Binkowski et al. 2018, "Demystifying MMD GANs", section 4).

A realism measure that the classifiers cannot forgive: the squared maximum mean discrepancy
between two sets of image features under the cubic polynomial kernel

    k(x, y) = (x . y / d + 1) ** 3                       (d = feature size, 1280 here)

estimated without bias (their eq. 6 with m = n):

    MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
              - 2/m^2 sum_{i, j} k(x_i, y_j)

on `subsets` random subsets of `subset_size` features drawn from each set (without replacement
inside a subset), averaged. Zero in expectation when both sets come from one distribution, so
an estimate can be slightly negative. The standard error is the spread over subsets divided by
sqrt(subsets): how far the average would move with other subsets of the same images. It does
not count the luck of the images themselves, and it shrinks when subsets * subset_size is far
above the set sizes (the subsets then overlap); a real-against-real figure on disjoint halves
is the honest floor to read a value against. The default subset is half the smaller set (at
most 1000): a subset as large as a set would be that set again every time, and its spread zero.

    a, b = image_features(drawn, "cpu"), image_features(real, "cpu")   # features.py
    kid(a, b, generator=torch.Generator().manual_seed(0))              # KID(value=..., standard_error=...)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..errors import StyleDropError

MAX_SUBSET_SIZE = 1000  # Binkowski et al.'s subset size; smaller sets use half of the smaller one


@dataclass(frozen=True)
class KID:
    value: float  # the unbiased MMD^2 estimate, averaged over subsets
    standard_error: float  # std over subsets / sqrt(subsets)
    subsets: int
    subset_size: int
    sizes: tuple[int, int]  # how many features each set had

    def to_json(self) -> dict:
        return {**asdict(self), "sizes": list(self.sizes)}

    def __str__(self) -> str:
        return f"{self.value:.5f} ± {self.standard_error:.5f}"


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(m, d), (n, d) -> (m, n): (x . y / d + 1) ** 3."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The unbiased MMD^2 of two (m, d) samples of equal size: diagonals left out of the within-set terms."""
    m = x.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return within - 2 * k_xy.mean()


def kid(features_a: torch.Tensor, features_b: torch.Tensor, *, subsets: int = 100, subset_size: int | None = None,
        generator: torch.Generator) -> KID:
    """KID of two (N, d) feature sets; `subset_size` defaults to half the smaller set, at most 1000."""
    if features_a.ndim != 2 or features_b.ndim != 2 or features_a.shape[1] != features_b.shape[1]:
        raise StyleDropError(f"KID needs two (N, d) feature sets of one d, got {tuple(features_a.shape)} "
                             f"and {tuple(features_b.shape)}")
    sizes = (len(features_a), len(features_b))
    if subset_size is None:
        subset_size = min(min(sizes) // 2, MAX_SUBSET_SIZE)
    if subset_size < 2 or subset_size > min(sizes):
        raise StyleDropError(f"KID with subsets of {subset_size} features, from sets of {sizes[0]} and {sizes[1]} "
                             "images: each subset needs at least 2 of each set and at most the smaller set; "
                             f"pass subset_size between 2 and {min(sizes)}, or bring more images (4 or more each "
                             "for the default subset size)")
    if subsets < 2:
        raise StyleDropError(f"KID over {subsets} subsets has no standard error; pass subsets=2 or more")
    a, b = features_a.double(), features_b.double()  # cubes of sums over 1280 terms: keep the precision
    estimates = torch.stack([
        mmd2_unbiased(a[torch.randperm(sizes[0], generator=generator)[:subset_size]],
                      b[torch.randperm(sizes[1], generator=generator)[:subset_size]])
        for _ in range(subsets)])
    return KID(value=estimates.mean().item(), standard_error=(estimates.std() / subsets ** 0.5).item(),
               subsets=subsets, subset_size=subset_size, sizes=sizes)
