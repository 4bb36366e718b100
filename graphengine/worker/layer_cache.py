"""Shipped layers on a worker: the pickled layers tasks are built from.

A task of a layer shipped whole arrives as ``run_spec={"layer": id}``; the first task of
that layer sent to this worker also carries the pickled layer (``layer_spec``). The
worker keeps it until the scheduler says ``free-layers`` (when the scheduler has
forgotten every task of it), opens it once, and builds each task from it by key.

    >>> from graphengine.comm import serialize
    >>> from graphengine.graph.layers import MaterializedLayer
    >>> cache = LayerCache()
    >>> cache.add(7, serialize(MaterializedLayer({("x", 0): 1})))
    >>> cache.resolve({"layer": 7}).task_for(("x", 0)), len(cache)
    (1, 1)
    >>> cache.free([7]); len(cache)
    0
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from graphengine.comm import Serialized

__all__ = ["LayerCache", "UnavailableLayer", "is_layer_spec"]

logger = logging.getLogger(__name__)


def is_layer_spec(run_spec: Any) -> bool:
    """Whether ``run_spec`` names a shipped layer instead of carrying a task."""
    return type(run_spec) is dict and "layer" in run_spec


class UnavailableLayer:
    """Stands for a layer this worker cannot open; building a task from it raises why."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException):
        self.error = error

    def task_for(self, key: Any) -> Any:
        raise self.error


class LayerCache:
    """Layers by the id the scheduler gave them, opened on first use."""

    def __init__(self) -> None:
        self._specs: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._specs)

    def add(self, layer_id: int, spec: Any) -> None:
        self._specs[layer_id] = spec

    def free(self, layer_ids: Iterable[int]) -> None:
        for i in layer_ids:
            self._specs.pop(i, None)

    def resolve(self, run_spec: dict) -> Any:
        """The layer ``run_spec`` names (with ``task_for(key)``), opened if need be.

        Never raises: a layer that is missing or does not unpickle here comes back as an
        :class:`UnavailableLayer`, so the task fails with that error and the worker goes
        on.
        """
        layer_id = run_spec.get("layer")
        spec = self._specs.get(layer_id)
        if spec is None:
            return UnavailableLayer(RuntimeError(
                f"layer {layer_id!r} is not on this worker: its tasks came without it"))
        if type(spec) is Serialized:
            try:
                spec = spec.deserialize()
            except Exception as e:  # noqa: BLE001 - reported through the task that needs it
                logger.warning("layer %r does not unpickle on this worker: %r", layer_id, e)
                return UnavailableLayer(e)
            self._specs[layer_id] = spec
        return spec
