"""Layered graphs: collections build a graph as named layers, materialized only when needed.

A :class:`Layer` is a mapping ``key -> Task`` that may generate its tasks lazily (one
blockwise layer stands for an elementwise operation over every chunk). A
:class:`HighLevelGraph` is a set of layers plus which layer depends on which; it is a
mapping too, so everything that takes a graph takes one, and it culls layer by layer
before any task is materialized.

    >>> from graphengine.graph.spec import Task, Ref
    >>> a = HighLevelGraph.from_layer("a", {"a": 1})
    >>> b = HighLevelGraph.from_layer("b", {"b": Task("b", abs, Ref("a"))}, dependencies=[a])
    >>> sorted(b), b.layer_dependencies["b"]
    (['a', 'b'], {'a'})
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from graphengine.errors import MissingDependencyError
from graphengine.graph.spec import Key, Task, key_name
from graphengine.graph.toposort import toposort

__all__ = ["Layer", "MaterializedLayer", "HighLevelGraph"]


class Layer(Mapping):
    """A group of tasks produced by one operation.

    Subclasses that generate tasks lazily override :meth:`output_keys`,
    :meth:`_materialize` and, to cull without materializing everything, :meth:`cull`.
    """

    _cache: dict | None = None
    #: Set on a whole copy that may be shipped: its :class:`GridPlan`.
    _shipping_plan: Any = None

    def output_keys(self) -> Iterable[Key]:
        """The keys this layer defines (a set-like that supports ``in``)."""
        return self._materialized().keys()

    def _materialize(self) -> dict[Key, Any]:
        raise NotImplementedError

    def _materialized(self) -> dict[Key, Any]:
        if self._cache is None:
            self._cache = self._materialize()
        return self._cache

    def __getitem__(self, key: Key) -> Any:
        return self._materialized()[key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._materialized())

    def __len__(self) -> int:
        return len(self._materialized())

    def grid_plan(self) -> Any:
        """A :class:`~graphengine.graph.layer_plan.GridPlan` of this layer's keys and
        inputs, if it has one: then it can be shipped to a cluster whole."""
        return None

    def task_for(self, key: Key) -> Any:
        """The task (or value) of one output key."""
        return self[key]

    def whole_copy(self, plan: Any = None) -> "Layer":
        """A copy of this lazy layer for one graph optimisation (what it materializes stays
        with the copy, not with the collection that owns the original), shippable under
        ``plan`` if one is given."""
        new = copy.copy(self)
        new._cache = None
        new._shipping_plan = plan
        return new

    def cull_whole(self, keys: set) -> tuple["Layer", set] | None:
        """If ``keys`` are all of this layer's keys and it has a shipping plan: a whole
        copy that stays lazy (so a cluster can be sent the layer itself) and the keys it
        reads; else None."""
        if len(keys) != len(self.output_keys()):
            return None
        from graphengine.graph.layer_plan import shipping_plan

        plan = shipping_plan(self)
        if plan is None:
            return None
        return self.whole_copy(plan), plan.all_input_keys()

    def cull(self, keys: set) -> tuple["Layer", set]:
        """Keep what ``keys`` (keys of this layer) need; return it and the keys needed from
        other layers."""
        tasks = self._materialized()
        out: dict[Key, Any] = {}
        external: set = set()
        stack = list(keys)
        while stack:
            key = stack.pop()
            if key in out:
                continue
            value = tasks[key]
            out[key] = value
            if type(value) is Task:
                for d in value.dependencies:
                    if d in tasks:
                        if d not in out:
                            stack.append(d)
                    else:
                        external.add(d)
        return MaterializedLayer(out), external


class MaterializedLayer(Layer):
    """A layer whose tasks are already a plain mapping."""

    def __init__(self, mapping: Mapping[Key, Any]):
        self._cache = mapping if isinstance(mapping, dict) else dict(mapping)


class HighLevelGraph(Mapping):
    """A graph made of named layers with known dependencies between layers.

    Parameters
    ----------
    layers : mapping of str to Layer or mapping
        The layers by name.
    dependencies : mapping of str to set of str
        For each layer, the layers it takes inputs from.
    """

    def __init__(self, layers: Mapping[str, Layer | Mapping],
                 dependencies: Mapping[str, Iterable[str]]):
        self.layers: dict[str, Layer] = {
            name: (lay if isinstance(lay, Layer) else MaterializedLayer(lay))
            for name, lay in layers.items()
        }
        self.layer_dependencies: dict[str, set] = {
            name: set(dependencies.get(name, ())) for name in self.layers
        }
        self._flat: dict | None = None

    @classmethod
    def from_layer(cls, name: str, layer: Layer | Mapping,
                   dependencies: Iterable[Any] = ()) -> "HighLevelGraph":
        """A graph of ``layer`` on top of the graphs of ``dependencies`` (collections or
        graphs)."""
        graphs = [_graph_of(d) for d in dependencies]
        merged = cls.merge(*graphs) if graphs else cls({}, {})
        layers = dict(merged.layers)
        deps = {k: set(v) for k, v in merged.layer_dependencies.items()}
        layers[name] = layer
        deps[name] = set()
        for g in graphs:
            deps[name].update(g.top_layers() if isinstance(g, HighLevelGraph) else ())
        deps[name].discard(name)
        return cls(layers, deps)

    @classmethod
    def merge(cls, *graphs: Mapping) -> "HighLevelGraph":
        """One graph holding every layer of ``graphs`` (plain mappings become layers)."""
        layers: dict[str, Layer] = {}
        deps: dict[str, set] = {}
        for i, g in enumerate(graphs):
            if isinstance(g, HighLevelGraph):
                layers.update(g.layers)
                for k, v in g.layer_dependencies.items():
                    deps.setdefault(k, set()).update(v)
            else:
                name = f"graph-{id(g):x}"
                layers[name] = g if isinstance(g, Layer) else MaterializedLayer(g)
                deps.setdefault(name, set())
        return cls(layers, deps)

    def top_layers(self) -> set:
        """Layers no other layer depends on (a collection's own, outermost layers)."""
        used = set()
        for v in self.layer_dependencies.values():
            used |= v
        return set(self.layers) - used

    # Mapping interface: a flat view, built once when first needed.
    def to_dict(self) -> dict[Key, Any]:
        """Materialize every layer into one plain ``key -> task`` dict."""
        if self._flat is None:
            flat: dict[Key, Any] = {}
            for layer in self.layers.values():
                flat.update(layer)
            self._flat = flat
        return self._flat

    def __getitem__(self, key: Key) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def cull(self, keys: Iterable[Key]) -> "HighLevelGraph":
        """Keep only what ``keys`` need, layer by layer, from the outputs downwards.

        Raises
        ------
        MissingDependencyError
            If a needed key is defined by no layer.
        """
        needed = set(keys)
        # Needed keys by name: a grid layer (outputs named (name, i, ...)) looks only at
        # its own, not at every needed key once per layer.
        by_name: dict[Any, set] = {}
        for k in needed:
            by_name.setdefault(key_name(k), set()).add(k)
        order = toposort(self.layers, self.layer_dependencies)  # inputs first
        new_layers: dict[str, Layer] = {}
        for name in reversed(order):
            layer = self.layers[name]
            outputs = layer.output_keys()
            grid_name = getattr(outputs, "name", None)
            if grid_name is not None:
                mine = {k for k in by_name.get(grid_name, ()) if k in outputs}
            # Scan the smaller side: many one-key layers (delayed) against many needed keys
            # would otherwise cost layers x keys.
            elif hasattr(outputs, "__len__") and len(outputs) < len(needed):
                mine = {k for k in outputs if k in needed}
            else:
                mine = {k for k in needed if k in outputs}
            if not mine:
                continue
            needed -= mine
            for k in mine:
                by_name[key_name(k)].discard(k)
            culled, external = layer.cull(mine)
            new_layers[name] = culled
            external = external - needed
            needed |= external
            for k in external:
                by_name.setdefault(key_name(k), set()).add(k)
        if needed:
            key = next(iter(needed))
            raise MissingDependencyError(key)
        deps = {n: self.layer_dependencies[n] & new_layers.keys() for n in new_layers}
        return HighLevelGraph(new_layers, deps)

    def __repr__(self) -> str:
        return f"<HighLevelGraph: {len(self.layers)} layers>"


def _graph_of(obj: Any) -> Mapping:
    if isinstance(obj, Mapping):
        return obj
    graph = getattr(obj, "__graphengine_graph__", None)
    if graph is None:
        raise TypeError(f"{obj!r} is neither a graph nor a graphengine collection")
    return graph()
