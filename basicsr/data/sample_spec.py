"""What the training sampler asks a dataset for: an index, a patch size and a random seed.

Each training sample draws its crop, augmentation and noise from its own generator, seeded by
``(manual_seed, epoch, rank, position in the epoch)``.  The result therefore does not depend on
which worker process decodes it, and a resumed run sees exactly the samples an uninterrupted run
would have seen.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple, Union

import numpy as np

__all__ = ['SampleSpec', 'unpack_item']


class SampleSpec(NamedTuple):
    index: int
    patch_size: int
    seed: Tuple[int, ...]


def unpack_item(item: Union[int, SampleSpec, tuple], default_size: Optional[int]
                ) -> Tuple[int, Optional[int], np.random.Generator]:
    """``(index, patch_size, rng)`` for a plain index or a :class:`SampleSpec`.

    A plain index (e.g. a dataset used with an ordinary ``DataLoader``) gets ``default_size`` and a
    generator seeded from NumPy's global state, which ``DataLoader`` worker seeding controls.
    """
    if isinstance(item, tuple):
        spec = SampleSpec(*item)
        return int(spec.index), int(spec.patch_size), np.random.default_rng(list(spec.seed))
    return int(item), default_size, np.random.default_rng(np.random.randint(0, 2 ** 31 - 1))
