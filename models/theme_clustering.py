"""Grouping for themes: TF-IDF vectors of distinct texts, and groups of alike ones.

Numpy only. Texts become L2-normalised sparse rows with a damped IDF; they are grouped by
average linkage (nearest-neighbour chain) down to a fair similarity, then groups merge
while members across are about half as alike as members within. Past `_SAMPLE` rows an
even sample is grouped and the rest join the nearest group.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.theme_words import Doc

__all__ = ["MIN_COHESION", "Doubles", "Floats", "Ints", "Rows", "cluster", "vectorise"]

logger = logging.getLogger(__name__)

_IDF_POWER = 0.5  # damped IDF: in short texts the few shared words are the signal
_MAX_DF = 0.95  # only words in nearly every text are dropped (a spike's topic is in most)
_SAMPLE = 1000  # distinct texts grouped exactly; past this, a sample is, and the rest join
_TIGHT = 0.3  # first pass: average linkage joins texts this similar on average
_MERGE_RATIO = 0.5  # then groups merge when across-similarity is half the within or more
_COHESION_CAP = 0.4  # near-copies are very cohesive; cap it so they still join their topic
_MIN_LINK = 0.12  # ...but never when members across are less alike than this on average
MIN_COHESION = 0.08  # a theme's members must have at least this much in common

Floats = npt.NDArray[np.float32]
Doubles = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

_BLOCK = 4_000_000  # values per block when multiplying, to bound memory at 10k+ posts


@dataclass(frozen=True, slots=True)
class Rows:
    """L2-normalised sparse rows (CSR) and the few products the grouping needs."""

    indptr: Ints
    indices: Ints
    data: Floats
    width: int

    @property
    def count(self) -> int:
        """Number of rows."""
        return len(self.indptr) - 1

    def times(self, dense: Floats) -> Floats:
        """(rows, k): each row's dot product with each row of `dense`, shaped (k, width)."""
        out = np.empty((self.count, dense.shape[0]), dtype=np.float32)
        per_row = max(len(self.data) / max(self.count, 1), 1.0) * max(dense.shape[0], 1)
        block = max(1, int(_BLOCK / per_row))
        for start in range(0, self.count, block):
            stop = min(start + block, self.count)
            low, high = self.indptr[start], self.indptr[stop]
            part = dense[:, self.indices[low:high]] * self.data[low:high]
            out[start:stop] = np.add.reduceat(part, self.indptr[start:stop] - low, axis=1).T
        return out

    def along(self, centres: Floats, labels: Ints) -> Floats:
        """Each row's dot product with the centre its label names."""
        owner = np.repeat(labels, np.diff(self.indptr))
        products = self.data * centres[owner, self.indices]
        along: Floats = np.add.reduceat(products, self.indptr[:-1]).astype(np.float32)
        return along

    def sums(self, labels: Ints, k: int) -> Floats:
        """(k, width): the sum of the rows in each group."""
        owner = np.repeat(labels, np.diff(self.indptr))
        flat = np.bincount(
            owner * self.width + self.indices, weights=self.data, minlength=k * self.width
        )
        return flat.reshape(k, self.width).astype(np.float32)


def vectorise(docs: Sequence[Doc]) -> tuple[Rows, Ints]:
    """TF-IDF rows for the docs that have any useful token; also which docs those are."""
    df = Counter(token for doc in docs for token in doc.weights)
    ceiling = max(2.0, _MAX_DF * len(docs))
    vocab = {t: i for i, t in enumerate(sorted(t for t, c in df.items() if 2 <= c <= ceiling))}
    idf = {t: (math.log((1 + len(docs)) / (1 + df[t])) + 1.0) ** _IDF_POWER for t in vocab}
    indptr, kept = [0], []
    indices: list[int] = []
    data: list[float] = []
    for number, doc in enumerate(docs):
        row = sorted((vocab[t], w * idf[t]) for t, w in doc.weights.items() if t in vocab)
        if not row:
            continue
        norm = math.sqrt(sum(w * w for _, w in row))
        indices.extend(i for i, _ in row)
        data.extend(w / norm for _, w in row)
        indptr.append(len(indices))
        kept.append(number)
    rows = Rows(
        np.array(indptr, dtype=np.int64),
        np.array(indices, dtype=np.int64),
        np.array(data, dtype=np.float32),
        max(len(vocab), 1),
    )
    return rows, np.array(kept, dtype=np.int64)


def _unit(matrix: Floats) -> Floats:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: Floats = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def _dense(rows: Rows, chosen: Ints) -> Floats:
    """The chosen rows as a dense matrix."""
    out = np.zeros((len(chosen), rows.width), dtype=np.float32)
    for number, row in enumerate(chosen.tolist()):
        low, high = rows.indptr[row], rows.indptr[row + 1]
        out[number, rows.indices[low:high]] = rows.data[low:high]
    return out


def _average_linkage(gram: Doubles, floor: float) -> Ints:
    """Average-linkage groups of the rows whose `gram` is given, joined down to `floor`.

    The nearest-neighbour chain finds the same tree as the textbook algorithm in O(n²).
    """
    count = len(gram)
    pair_sums, sizes = gram.copy(), np.ones(count)
    alive, owner = np.ones(count, dtype=bool), np.arange(count)
    chain: list[int] = []
    while alive.sum() > 1:
        if not chain:
            chain.append(int(np.argmax(alive)))
        top = chain[-1]
        links = np.where(alive, pair_sums[top] / (sizes[top] * sizes), -np.inf)
        links[top] = -np.inf
        near = int(np.argmax(links))
        if len(chain) > 1 and links[chain[-2]] >= links[near]:
            near = chain[-2]
        if len(chain) < 2 or near != chain[-2]:
            chain.append(near)
            continue
        del chain[-2:]
        if links[near] < floor:
            alive[top] = alive[near] = False  # nothing else is closer to either: done with both
            continue
        keep, gone = min(top, near), max(top, near)
        pair_sums[keep] += pair_sums[gone]
        pair_sums[:, keep] += pair_sums[:, gone]
        sizes[keep] += sizes[gone]
        alive[gone] = False
        owner[owner == gone] = keep
    return np.unique(owner, return_inverse=True)[1].astype(np.int64)


def _merge(gram: Doubles, labels: Ints) -> Ints:
    """Join groups whose members are about as close across as they are within.

    Each group's best partner is kept up to date, so a merge costs O(groups), not O(groups²).
    """
    k = int(labels.max()) + 1
    member = np.zeros((len(labels), k))
    member[np.arange(len(labels)), labels] = 1.0
    pair_sums, sizes = member.T @ gram @ member, member.sum(axis=0)
    within = _within(pair_sums, sizes)
    known = sizes >= 2
    typical = float(np.median(within[known])) if known.any() else _COHESION_CAP
    within = np.clip(np.where(known, within, typical), MIN_COHESION, _COHESION_CAP)
    ratio = np.stack([_ratios(pair_sums, sizes, within, a) for a in range(k)])
    best = np.argmax(ratio, axis=1)
    owner = np.arange(k)
    while True:
        a = int(np.argmax(ratio[np.arange(k), best]))
        b = int(best[a])
        if ratio[a, b] < _MERGE_RATIO:
            break
        pair_sums[a] += pair_sums[b]
        pair_sums[:, a] += pair_sums[:, b]
        sizes[a], sizes[b] = sizes[a] + sizes[b], 0.0
        within[a] = np.clip(
            _within(pair_sums[a : a + 1, a : a + 1], sizes[a : a + 1])[0],
            MIN_COHESION,
            _COHESION_CAP,
        )
        owner[owner == b] = a
        ratio[b, :] = ratio[:, b] = -1.0
        ratio[a, :] = ratio[:, a] = _ratios(pair_sums, sizes, within, a)
        stale = np.flatnonzero((best == a) | (best == b))
        best[stale] = np.argmax(ratio[stale], axis=1)
        better = ratio[:, a] > ratio[np.arange(k), best]
        best[better] = a
        best[a] = int(np.argmax(ratio[a]))
    return np.unique(owner[labels], return_inverse=True)[1].astype(np.int64)


def _within(pair_sums: Doubles, sizes: Doubles) -> Doubles:
    """Mean similarity between two different members of each group."""
    within: Doubles = (np.diag(pair_sums) - sizes) / np.maximum(sizes * (sizes - 1), 1.0)
    return within


def _ratios(pair_sums: Doubles, sizes: Doubles, within: Doubles, a: int) -> Doubles:
    """How alike group `a` is to each group, relative to how alike their members are."""
    link = pair_sums[a] / np.maximum(sizes[a] * sizes, 1.0)
    ratio = np.where(link >= _MIN_LINK, link / np.sqrt(within[a] * within), -1.0)
    ratio[(sizes == 0) | (np.arange(len(sizes)) == a)] = -1.0
    return ratio


def cluster(rows: Rows) -> tuple[Ints, Floats, Floats] | None:
    """Group labels for the rows, each row's fit (cosine to its centre), groups' cohesion.

    Past `_SAMPLE` rows, an even sample (in signature order, so input order does not
    matter) is grouped, and every row then joins the nearest group that has company.
    None when nothing groups at all.
    """
    step = max(1, math.ceil(rows.count / _SAMPLE))
    sample = np.arange(0, rows.count, step, dtype=np.int64)
    dense = _dense(rows, sample)
    gram = (dense @ dense.T).astype(np.float64)
    labels = _merge(gram, _average_linkage(gram, _TIGHT))
    if step > 1:
        shared = np.flatnonzero(np.bincount(labels) >= 2)
        if len(shared) == 0:
            return None
        sums = np.zeros((int(labels.max()) + 1, rows.width), dtype=np.float32)
        np.add.at(sums, labels, dense)
        labels = shared[np.argmax(rows.times(_unit(sums[shared])), axis=1)].astype(np.int64)
    k = int(labels.max()) + 1
    totals = rows.sums(labels, k).astype(np.float64)
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    square = np.einsum("ij,ij->i", totals, totals)
    fit = rows.along(_unit(totals.astype(np.float32)), labels)
    pairs = np.maximum(sizes * (sizes - 1), 1.0)
    cohesion = np.where(sizes >= 2, (square - sizes) / pairs, 0.0).astype(np.float32)
    logger.debug("themes: %d texts, %d sampled, %d groups", rows.count, len(sample), k)
    return labels, fit, cohesion
