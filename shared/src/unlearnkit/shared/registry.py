"""A tiny name -> object registry, the pattern behind models, data sets and methods."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from .errors import UnlearnkitError

T = TypeVar("T")


class Registry(Generic[T]):
    """Objects registered by name (plus aliases), looked up with a helpful error for unknown names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        self._families: list[Callable[[str], T | None]] = []

    def register_family(self, make: Callable[[str], T | None]) -> Callable[[str], T | None]:
        """Names built on demand (e.g. ``synthetic-imagenet-100x50``): ``make(name)`` returns the object for a
        name of its family, or None. A name is registered the first time it is looked up."""
        self._families.append(make)
        return make

    def _from_family(self, key: str) -> bool:
        for make in self._families:
            obj = make(key)
            if obj is not None:
                self._items[key] = obj
                return True
        return False

    def register(self, name: str, obj: T | None = None, *, aliases: Iterable[str] = (), overwrite: bool = False):
        """Register ``obj`` under ``name``; without ``obj`` this is a decorator."""

        def _add(item: T) -> T:
            key = self._norm(name)
            if key in self._items and not overwrite:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[key] = item
            for alias in aliases:
                self._aliases[self._norm(alias)] = key
            return item

        if obj is not None:
            return _add(obj)
        return _add

    @staticmethod
    def _norm(name: str) -> str:
        return name.strip().lower()

    def resolve(self, name: str) -> str:
        key = self._norm(name)
        key = self._aliases.get(key, key)
        if key not in self._items and not self._from_family(key):
            raise UnlearnkitError(f"unknown {self.kind} {name!r}; choose from: {', '.join(self.names())}")
        return key

    def get(self, name: str) -> T:
        return self._items[self.resolve(name)]

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = self._norm(name)
        return key in self._items or key in self._aliases or self._from_family(key)

    def __len__(self) -> int:
        return len(self._items)


def lazy(fn: Callable[[], T]) -> Callable[[], T]:
    """Cache a zero-argument factory's result (used for data sets that are costly to load twice)."""
    cache: dict[str, T] = {}

    def wrapper() -> T:
        if "v" not in cache:
            cache["v"] = fn()
        return cache["v"]

    return wrapper
