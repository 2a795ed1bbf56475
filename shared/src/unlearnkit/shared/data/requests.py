"""Forget requests: which training samples must be forgotten, saved as a verifiable file.

A request is data. Every method, the retrained reference and every metric read the same file, and its
checksum proves they refer to the same samples of the same data set.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ChecksumError, UnlearnkitError
from ..io import check_writable, load_json, save_json, sha256_hex
from .base import LabeledDataset

REQUEST_FORMAT = "unlearnkit.forget-request/1"
KINDS = ("class", "random", "subclass", "indices")


def _checksum(dataset: str, size: int, indices: tuple[int, ...]) -> str:
    payload = f"{dataset}|{size}|" + ",".join(map(str, indices))
    return sha256_hex(payload.encode())


@dataclass(frozen=True)
class ForgetRequest:
    """Indices (into the training split of ``dataset``) to forget, and how they were chosen."""

    dataset: str
    dataset_size: int
    kind: str
    indices: tuple[int, ...]
    classes: tuple[int, ...] = ()
    fraction: float | None = None
    count: int | None = None
    pick: str | None = None
    seed: int | None = None
    checksum: str = field(default="")

    def __post_init__(self):
        _validate_fields(self)
        if not self.checksum:
            object.__setattr__(self, "checksum", _checksum(self.dataset, self.dataset_size, self.indices))

    # -- construction -------------------------------------------------------------------------------

    @staticmethod
    def _make(train: LabeledDataset, kind: str, positions, **kw) -> ForgetRequest:
        idx = tuple(sorted({int(i) for i in np.asarray(positions).ravel()}))
        if not idx:
            raise UnlearnkitError("the forget request selects no samples")
        return ForgetRequest(dataset=train.info.name, dataset_size=len(train), kind=kind, indices=idx, **kw)

    @staticmethod
    def _check_classes(train: LabeledDataset, classes) -> tuple[int, ...]:
        classes = tuple(int(c) for c in classes)
        if not classes:
            raise UnlearnkitError("name at least one class to forget")
        n = train.info.num_classes or int(train.targets.max()) + 1
        bad = [c for c in classes if not 0 <= c < n]
        if bad:
            raise UnlearnkitError(f"class id {bad[0]} is out of range for {train.info.name} (0..{n - 1})")
        return classes

    @classmethod
    def for_classes(cls, train: LabeledDataset, classes) -> ForgetRequest:
        """Every training sample of the given classes (class-wise forgetting)."""
        classes = cls._check_classes(train, classes)
        return cls._make(train, "class", train.class_positions(classes), classes=classes)

    @classmethod
    def random(cls, train: LabeledDataset, fraction: float | None = None, count: int | None = None,
               seed: int = 0) -> ForgetRequest:
        """A seeded random fraction or count of the training set (random forgetting)."""
        n = len(train)
        k = _how_many(n, fraction, count)
        pos = np.random.default_rng(seed).choice(n, size=k, replace=False)
        return cls._make(train, "random", pos, fraction=fraction, count=count if fraction is None else None,
                         seed=seed)

    @classmethod
    def subclass(cls, train: LabeledDataset, cls_id: int, fraction: float, pick: str = "random",
                 seed: int = 0) -> ForgetRequest:
        """A fraction of one class, drawn at random or the last ones in data set order (the PS setting)."""
        (cls_id,) = cls._check_classes(train, [cls_id])
        members = train.class_positions([cls_id])
        k = _how_many(len(members), fraction, None)
        if pick == "last":
            pos = members[-k:]
        elif pick == "random":
            pos = np.random.default_rng(seed).choice(members, size=k, replace=False)
        else:
            raise UnlearnkitError(f"unknown pick {pick!r}; choose random or last")
        return cls._make(train, "subclass", pos, classes=(cls_id,), fraction=fraction, pick=pick,
                         seed=seed if pick == "random" else None)

    @classmethod
    def from_indices(cls, train: LabeledDataset, indices) -> ForgetRequest:
        idx = np.asarray(list(indices), dtype=np.int64)
        if idx.size == 0:
            raise UnlearnkitError("the index list is empty")
        bad = idx[(idx < 0) | (idx >= len(train))]
        if bad.size:
            raise UnlearnkitError(f"index {int(bad[0])} is out of range for {train.info.name} (0..{len(train) - 1})")
        return cls._make(train, "indices", idx)

    @classmethod
    def from_index_file(cls, train: LabeledDataset, path: str | os.PathLike) -> ForgetRequest:
        """Indices from a JSON list or a text file of integers (one per line, or comma separated)."""
        return cls.from_indices(train, read_index_file(path))

    @classmethod
    def from_file(cls, train: LabeledDataset, path: str | os.PathLike) -> ForgetRequest:
        """A ``--request`` argument: a forget request file (verified against ``train`` by :meth:`load`), or a
        plain list of training indices (JSON list, one per line or comma separated), as the papers' scripts
        take them. A JSON object is always read as a request, so a forged or edited request is refused."""
        path = Path(path)
        if not path.is_file():
            raise UnlearnkitError(f"--request {path}: file not found")
        with open(path, "rb") as fh:
            head = fh.read(64).lstrip()
        if head.startswith(b"{"):
            return cls.load(path, dataset=train.info.name, dataset_size=len(train))
        return cls.from_index_file(train, path)

    # -- files --------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        d = asdict(self)
        d["format"] = REQUEST_FORMAT
        d["indices"] = list(self.indices)
        d["classes"] = list(self.classes)
        d["num_forget"] = len(self.indices)
        return d

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        check_writable(path, overwrite)
        return save_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike, dataset: str | None = None,
             dataset_size: int | None = None, train: LabeledDataset | None = None) -> ForgetRequest:
        """Load and verify: the fields are valid (see :func:`validate_fields`), the checksum matches the indices,
        the data set is the expected one, and, given ``train``, the classes fit it (:meth:`verify_against`).

        The checksum only proves the file was not changed by accident; a forged file with a recomputed
        checksum is caught by the field checks, so nothing downstream sees a negative, fractional, repeated or
        out-of-range index.
        """
        d = load_json(path)
        if not isinstance(d, dict) or d.get("format") != REQUEST_FORMAT:
            raise UnlearnkitError(f"{path} is not an unlearnkit forget request")
        missing = [k for k in ("dataset", "dataset_size", "kind", "indices", "checksum") if k not in d]
        if missing:
            raise UnlearnkitError(f"{path} is a malformed forget request (no {missing[0]!r} field)")
        for key in ("indices", "classes"):
            if not isinstance(d.get(key, []), list):
                raise UnlearnkitError(f"{path}: {key!r} must be a JSON list of integers")
        try:
            req = cls(dataset=d["dataset"], dataset_size=d["dataset_size"], kind=d["kind"],
                      indices=tuple(d["indices"]), classes=tuple(d.get("classes") or ()),
                      fraction=d.get("fraction"), count=d.get("count"), pick=d.get("pick"), seed=d.get("seed"),
                      checksum="")
        except UnlearnkitError as err:
            raise UnlearnkitError(f"{path}: {err}") from None
        if req.checksum != d.get("checksum"):
            raise ChecksumError(f"checksum of {path} does not match its indices: the file was changed")
        if dataset is not None and req.dataset != dataset:
            raise UnlearnkitError(f"{path} is a request for data set {req.dataset!r}, not {dataset!r}")
        if dataset_size is not None and req.dataset_size != dataset_size:
            raise UnlearnkitError(
                f"{path} was made for a training set of {req.dataset_size} samples, this one has {dataset_size}")
        if train is not None:
            try:
                req.verify_against(train)
            except UnlearnkitError as err:
                raise UnlearnkitError(f"{path}: {err}") from None
        return req

    def verify_against(self, train: LabeledDataset) -> None:
        """The request fits this training set: same data set and size, and its classes say what it holds.

        A class request must hold exactly the samples of its classes, a subclass request only samples of its
        class: otherwise metrics computed per class (test forget accuracy) would describe other samples.
        """
        if self.dataset != train.info.name or self.dataset_size != len(train):
            raise UnlearnkitError(
                f"request is for {self.dataset} ({self.dataset_size} samples), "
                f"not {train.info.name} ({len(train)} samples)")
        if self.kind not in ("class", "subclass"):
            return
        n = train.info.num_classes or int(train.targets.max()) + 1
        bad = [c for c in self.classes if not 0 <= c < n]
        if bad:
            raise UnlearnkitError(f"class id {bad[0]} of the request does not exist in {train.info.name} "
                                  f"(0..{n - 1})")
        idx = np.asarray(self.indices, dtype=np.int64)
        labels = train.targets[idx]
        outside = idx[~np.isin(labels, np.asarray(self.classes))]
        if outside.size:
            raise UnlearnkitError(f"index {int(outside[0])} is a sample of class {int(train.targets[outside[0]])}, "
                                  f"not of the request's classes {list(self.classes)}")
        if self.kind == "class":
            expected = train.class_positions(self.classes)
            if expected.size != idx.size:
                missing = np.setdiff1d(expected, idx)
                raise UnlearnkitError(f"a class request must hold every sample of classes {list(self.classes)}; "
                                      f"index {int(missing[0])} is missing ({idx.size} of {expected.size})")

    @property
    def short_id(self) -> str:
        return self.checksum[:12]

    def describe(self) -> str:
        if self.kind == "class":
            what = f"classes {list(self.classes)}"
        elif self.kind == "subclass":
            what = f"{self.pick} {self.fraction:g} of class {self.classes[0]}"
        elif self.kind == "random":
            what = f"random, seed {self.seed}"
        else:
            what = "listed indices"
        return f"{self.kind} request on {self.dataset}: {len(self.indices)} samples ({what}), sha256 {self.short_id}"


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _validate_fields(req: ForgetRequest) -> None:
    """Every request, built or loaded, is checked here; each problem is one line naming the bad value."""
    if not isinstance(req.dataset, str) or not req.dataset:
        raise UnlearnkitError(f"dataset must be a data set name, got {req.dataset!r}")
    if not _is_int(req.dataset_size) or req.dataset_size < 1:
        raise UnlearnkitError(f"dataset_size must be an integer >= 1, got {req.dataset_size!r}")
    object.__setattr__(req, "dataset_size", int(req.dataset_size))
    if req.kind not in KINDS:
        raise UnlearnkitError(f"unknown request kind {req.kind!r}; known kinds: {', '.join(KINDS)}")
    if not req.indices:
        raise UnlearnkitError("the forget request selects no samples (empty index list)")
    for i in req.indices:
        if not _is_int(i):
            raise UnlearnkitError(f"index {i!r} is not an integer")
        if not 0 <= i < req.dataset_size:
            raise UnlearnkitError(f"index {i} is out of range for a training set of {req.dataset_size} samples "
                                  f"(0..{req.dataset_size - 1})")
    indices = tuple(int(i) for i in req.indices)
    if len(set(indices)) != len(indices):
        seen: set[int] = set()
        dup = next(i for i in indices if i in seen or seen.add(i))
        raise UnlearnkitError(f"index {dup} appears more than once")
    object.__setattr__(req, "indices", indices)
    for c in req.classes:
        if not _is_int(c) or c < 0:
            raise UnlearnkitError(f"class id {c!r} is not an integer >= 0")
    object.__setattr__(req, "classes", tuple(int(c) for c in req.classes))
    if req.kind in ("class", "subclass") and not req.classes:
        raise UnlearnkitError(f"a {req.kind} request must name its classes")
    if req.kind == "subclass" and len(req.classes) != 1:
        raise UnlearnkitError(f"a subclass request names exactly one class, got {list(req.classes)}")
    f = req.fraction
    if f is not None and (isinstance(f, bool) or not isinstance(f, int | float) or not 0 < f <= 1):
        raise UnlearnkitError(f"fraction must be a number in (0, 1], got {f!r}")
    if req.count is not None and (not _is_int(req.count) or req.count < 1):
        raise UnlearnkitError(f"count must be an integer >= 1, got {req.count!r}")
    if req.pick not in (None, "random", "last"):
        raise UnlearnkitError(f"pick must be random or last, got {req.pick!r}")
    if req.seed is not None and not _is_int(req.seed):
        raise UnlearnkitError(f"seed must be an integer, got {req.seed!r}")


def _how_many(n: int, fraction: float | None, count: int | None) -> int:
    if (fraction is None) == (count is None):
        raise UnlearnkitError("give exactly one of fraction or count")
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise UnlearnkitError(f"fraction must be in (0, 1], got {fraction}")
        return max(1, int(round(fraction * n)))
    if not 1 <= count <= n:
        raise UnlearnkitError(f"count must be between 1 and {n}, got {count}")
    return int(count)


def read_index_file(path: str | os.PathLike) -> list[int]:
    path = Path(path)
    if not path.is_file():
        raise UnlearnkitError(f"index file not found: {path}")
    text = path.read_text().strip()
    if not text:
        raise UnlearnkitError(f"index file {path} is empty")
    try:
        if text.startswith("[") or text.startswith("{"):
            data = json.loads(text)
            data = data["indices"] if isinstance(data, dict) else data
            if not isinstance(data, list) or any(type(i) is not int for i in data):
                raise ValueError("not a list of integers")  # 1.5 must not silently become 1, nor true 1
            return list(data)
        return [int(tok) for tok in text.replace(",", " ").split()]
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise UnlearnkitError(f"index file {path} must hold integers (JSON list or one per line)") from None


@dataclass
class Splits:
    """The data sets a forget request induces: forget/retain from train, test (and its class parts)."""

    forget: LabeledDataset
    retain: LabeledDataset
    test: LabeledDataset
    test_forget: LabeledDataset | None = None
    test_retain: LabeledDataset | None = None


def make_splits(request: ForgetRequest, train: LabeledDataset, test: LabeledDataset) -> Splits:
    request.verify_against(train)
    mask = np.zeros(len(train), dtype=bool)
    mask[list(request.indices)] = True
    splits = Splits(forget=train.subset(np.flatnonzero(mask)), retain=train.subset(np.flatnonzero(~mask)), test=test)
    if request.kind == "class":
        in_forget = np.isin(test.targets, np.asarray(request.classes))
        splits.test_forget = test.subset(np.flatnonzero(in_forget))
        splits.test_retain = test.subset(np.flatnonzero(~in_forget))
    return splits
