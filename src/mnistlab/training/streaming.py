"""Training rows read from shards on disk (:mod:`mnistlab.datasets.shards`), in memory bounded by the shards, not by
the data set: what the training loop takes instead of a tensor of all images when the data is bigger than memory.

Each epoch visits the shards in an order drawn from the training's generator, reads ``window`` shards at a time
whole (checked), shuffles their rows together and cuts batches, carrying the rows left over to the next window so
that an epoch has exactly the batches of an in-memory epoch. This is the shuffle that WebDataset and MosaicML's
streaming use (a global permutation would read every row at random from disk); with the window at a few shards of
a data set shuffled when it was written, its batches are as mixed as a global shuffle's in practice. The rows
held out for validation are skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import torch

WINDOW = 2  # shards read into memory together (2 x 78 MB for shards of 100,000 images)


class StreamedRows:
    """The training rows of a split in shards, with their class indices.

    Parameters
    ----------
    images : mnistlab.datasets.shards.ShardedImages
        The split's images on disk.
    targets : ndarray of shape (N,)
        Class indices of every row of the split.
    keep : ndarray of bool, shape (N,)
        The rows to train on (False: held out for validation).
    window : int
        Shards read and shuffled together.
    """

    def __init__(self, images, targets: np.ndarray, keep: np.ndarray, window: int = WINDOW) -> None:
        self.images, self.targets, self.keep, self.window = images, targets, keep, window
        self.rows = int(keep.sum())

    def __len__(self) -> int:
        return self.rows

    def fingerprint(self) -> str:
        """What identifies these rows: the shards' checksums and the rows kept."""
        digest = hashlib.sha256()
        for shard in self.images.split.shards:
            digest.update(shard.images_sha256.encode() + shard.labels_sha256.encode())
        digest.update(np.packbits(self.keep).tobytes())
        digest.update(np.ascontiguousarray(self.targets).tobytes())
        return digest.hexdigest()

    def sample(self, rows: int, seed: int) -> np.ndarray:
        """Up to ``rows`` training rows' images, drawn with ``seed`` (for statistics such as input scaling)."""
        kept = np.flatnonzero(self.keep)
        chosen = np.sort(np.random.default_rng(seed).choice(kept, min(rows, len(kept)), replace=False))
        return self.images[chosen]

    def batches(
        self, generator: torch.Generator, batch_size: int, device: torch.device
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch's batches of uint8 images (B, 28, 28) and class indices, on ``device``.

        Memory: the ``window`` shards being read (taken as read, never copied whole) and one batch."""
        split = self.images.split
        order = torch.randperm(len(split.shards), generator=generator).tolist()
        # a part: images, labels and which of its rows to train on; the first is what the last window left over
        left = (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
        for begin in range(0, len(order), self.window):
            parts = [(*left, np.arange(len(left[1])))]
            for index in order[begin : begin + self.window]:
                images, _ = split.shard(index)
                start, stop = split.starts[index], split.starts[index + 1]
                parts.append((images, self.targets[start:stop], np.flatnonzero(self.keep[start:stop])))
            # one permutation of the window's kept rows, as (part, row) pairs; each batch gathers its rows
            which = np.concatenate([np.full(len(rows), i) for i, (_, _, rows) in enumerate(parts)])
            row = np.concatenate([rows for _, _, rows in parts])
            mix = torch.randperm(len(row), generator=generator).numpy()
            which, row = which[mix], row[mix]
            last = begin + self.window >= len(order)
            cut = len(row) if last else len(row) - len(row) % batch_size
            for first in range(0, cut, batch_size):
                xb, yb = _gather(parts, which[first : first + batch_size], row[first : first + batch_size])
                yield torch.from_numpy(xb).to(device), torch.from_numpy(yb).to(device)
            left = _gather(parts, which[cut:], row[cut:])


def _gather(parts: list[tuple], which: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of rows ``row`` of parts ``which`` (in that order)."""
    xb = np.empty((len(row), 28, 28), np.uint8)
    yb = np.empty(len(row), np.int64)
    for i, part in enumerate(parts):
        chosen = np.flatnonzero(which == i)
        if chosen.size:
            xb[chosen] = part[0][row[chosen]]
            yb[chosen] = part[1][row[chosen]]
    return xb, yb
