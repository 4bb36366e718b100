"""The collection protocol and the top-level ``compute``, ``persist`` and ``visualize``.

Any object is a graphengine collection if its type implements:

``__graphengine_graph__(self) -> Mapping``
    Its task graph (a plain mapping or a :class:`~graphengine.graph.layers.HighLevelGraph`).
``__graphengine_keys__(self) -> list``
    The output keys, as a key or nested lists of keys (e.g. one per chunk).
``__graphengine_postcompute__(self) -> (func, extra_args)``
    ``func(results, *extra_args)`` turns the results (nested like the keys) into the
    final value, e.g. concatenates chunks.
``__graphengine_postpersist__(self) -> (func, extra_args)``
    ``func(graph, *extra_args)`` rebuilds the same collection on a graph of results.

and optionally ``__graphengine_optimize__(graph, keys) -> graph`` (a staticmethod) and
``__graphengine_scheduler__`` (the default scheduler name for that type).

Computing several collections at once merges their graphs, so shared work runs once.

    >>> import graphengine
    >>> from graphengine import delayed
    >>> x = delayed(sum)([1, 2, 3])
    >>> graphengine.compute(x, x + 1, scheduler="sync")
    (6, 7)
"""
from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from graphengine import config
from graphengine.graph.fuse import fuse, inline
from graphengine.graph.layer_plan import shipping_plan
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Key, Task, key_name
from graphengine.graph.toposort import dependencies_map
from graphengine.local.get import flatten_keys, get as local_get, normalize_scheduler_name

__all__ = [
    "is_collection",
    "Collection",
    "compute",
    "persist",
    "visualize",
    "optimize",
    "collections_to_graph",
    "collections_to_layers",
    "get_scheduler",
    "set_default_client",
    "to_dot",
]


def is_collection(obj: Any) -> bool:
    """True for graphengine collections (instances, not their classes)."""
    return not isinstance(obj, type) and hasattr(type(obj), "__graphengine_graph__")


# --- where .compute() goes ---------------------------------------------------------------

_default_client_lock = threading.Lock()
_default_clients: list[Any] = []


def set_default_client(client: Any, active: bool = True) -> None:
    """Make ``client`` (an object with ``get(graph, keys, **kw)``) the default for
    ``.compute()`` until it is unset; the distributed Client calls this."""
    with _default_client_lock:
        if client in _default_clients:
            _default_clients.remove(client)
        if active:
            _default_clients.append(client)


def get_scheduler(scheduler: Any = None, collections: Iterable[Any] = ()) -> Callable:
    """The ``get(graph, keys, **kwargs)`` function a computation should use.

    ``scheduler`` may be a name (``"threads"``, ``"sync"``, ``"processes"`` or an alias),
    a get function, or an object with a ``get`` method (a Client). Without one: the
    default Client if one is active, else the ``scheduler`` config value, else the
    collections' own ``__graphengine_scheduler__``.
    """
    if scheduler is None:
        configured = config.get("scheduler", None)
        if _default_clients:
            return _default_clients[-1].get
        for c in collections:
            preferred = getattr(type(c), "__graphengine_scheduler__", None)
            if preferred and configured == config.DEFAULTS["scheduler"]:
                scheduler = preferred
                break
        else:
            scheduler = configured
    if callable(scheduler) and not isinstance(scheduler, str):
        return scheduler
    if hasattr(scheduler, "get") and not isinstance(scheduler, str):
        return scheduler.get
    name = normalize_scheduler_name(scheduler)

    def get(graph: Mapping, keys: Any, **kwargs: Any) -> Any:
        return local_get(graph, keys, scheduler=name, **kwargs)

    return get


# --- graphs -------------------------------------------------------------------------------

def collections_to_graph(collections: list, optimize_graph: bool = True
                         ) -> tuple[dict[Key, Any], list]:
    """Merge the graphs of ``collections``; return ``(graph, keys_per_collection)``."""
    keys = [c.__graphengine_keys__() for c in collections]
    graphs = [c.__graphengine_graph__() for c in collections]
    if len(graphs) == 1:
        graph = graphs[0]
    elif all(not isinstance(g, HighLevelGraph) for g in graphs):
        graph = {}
        for g in graphs:
            graph.update(g)
    else:
        graph = HighLevelGraph.merge(*graphs)
    if optimize_graph:
        optimizers = {getattr(type(c), "__graphengine_optimize__", None) for c in collections}
        graph = optimize(graph, flatten_keys(keys), optimizers=[o for o in optimizers if o])
    elif isinstance(graph, HighLevelGraph):
        graph = graph.to_dict()
    return dict(graph), keys


def collections_to_layers(collections: list, optimize_graph: bool = True
                          ) -> tuple[dict[Key, Any], list, list]:
    """Like :func:`collections_to_graph`, but lazy layers whose every task is needed stay
    whole: ``(tasks, layers, keys_per_collection)``, where ``layers`` holds
    ``(layer, GridPlan)`` pairs and ``tasks`` the rest of the graph, materialized.

    A cluster is sent each such layer once (its plan plus one pickled object) instead of
    one pickled task per block. Tasks that layers read are kept as they are: fusion and
    inlining neither rename nor remove them.
    """
    if not config.get("optimization.ship-layers"):
        graph, keys = collections_to_graph(collections, optimize_graph)
        return graph, [], keys
    keys = [c.__graphengine_keys__() for c in collections]
    graph = HighLevelGraph.merge(*(c.__graphengine_graph__() for c in collections))
    flat = flatten_keys(keys)
    if optimize_graph:
        graph = graph.cull(flat)
    layers = []
    tasks: dict[Key, Any] = {}
    for layer in graph.layers.values():
        if optimize_graph:
            plan = layer._shipping_plan  # set by cull on layers kept whole
        else:
            plan = shipping_plan(layer)
            if plan is not None:
                layer = layer.whole_copy(plan)
        if plan is not None:
            layers.append((layer, plan))
        else:
            tasks.update(layer)
    if optimize_graph and tasks:
        read = {n for _, plan in layers for n in plan.input_names()}
        kept = [k for k in tasks if key_name(k) in read]
        kept += [k for _, plan in layers for k in plan.constants]
        optimizers = {getattr(type(c), "__graphengine_optimize__", None) for c in collections}
        tasks = optimize(tasks, flat + kept, optimizers=[o for o in optimizers if o],
                         cull_first=False)
    return tasks, layers, keys


def optimize(graph: Mapping[Key, Any], keys: Iterable[Key],
             optimizers: Iterable[Callable] = (), cull_first: bool = True
             ) -> dict[Key, Any]:
    """Cull to ``keys``, apply collection optimizers, then inline and fuse (per config).

    ``cull_first=False`` skips the cull, for a graph whose other consumers (shipped
    layers) are not in it; ``keys`` are then kept, not culled to.
    """
    keys = list(keys)
    if not cull_first:
        graph = dict(graph)
    elif isinstance(graph, HighLevelGraph):
        graph = graph.cull(keys).to_dict()
    else:
        from graphengine.graph.cull import cull
        graph, _ = cull(graph, keys)
    for opt in optimizers:
        graph = opt(graph, keys)
    deps = dependencies_map(graph)
    if config.get("optimization.inline.active"):
        graph = inline(graph, outputs=keys, dependencies=deps)
        deps = dependencies_map(graph)
    if config.get("optimization.fuse.active"):
        graph = fuse(graph, keys, dependencies=deps,
                     max_width=config.get("optimization.fuse.max-width"))
    return graph


# --- compute / persist --------------------------------------------------------------------

class _Slot:
    """Placeholder for the i-th collection inside a traversed argument."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


def _extract(obj: Any, found: list, traverse: bool) -> Any:
    if is_collection(obj):
        found.append(obj)
        return _Slot(len(found) - 1)
    if traverse:
        t = type(obj)
        if t in (list, tuple, set, frozenset):
            items = [_extract(v, found, traverse) for v in obj]
            return t(items) if t is not list else items
        if t is dict:
            return {k: _extract(v, found, traverse) for k, v in obj.items()}
    return obj


def _fill(obj: Any, values: list) -> Any:
    t = type(obj)
    if t is _Slot:
        return values[obj.index]
    if t in (list, tuple, set, frozenset):
        items = [_fill(v, values) for v in obj]
        return t(items) if t is not list else items
    if t is dict:
        return {k: _fill(v, values) for k, v in obj.items()}
    return obj


def compute(*args: Any, traverse: bool = True, optimize_graph: bool = True,
            scheduler: Any = None, get: Callable | None = None, **kwargs: Any) -> tuple:
    """Compute several collections at once, sharing their common work.

    Parameters
    ----------
    *args : collections or other objects
        Collections are computed; with ``traverse=True`` so are collections inside lists,
        tuples, sets and dicts; anything else is returned as is.
    traverse : bool
        Look inside built-in containers for collections.
    optimize_graph : bool
        Cull, inline and fuse before running.
    scheduler : str, callable or Client, optional
        Where to run (see :func:`get_scheduler`).
    get : callable, optional
        A get function to use instead of ``scheduler``.
    **kwargs
        Passed to the scheduler (``num_workers=``, ``callbacks=``...).

    Returns
    -------
    tuple
        One result per argument.

    Examples
    --------
    >>> from graphengine import delayed, compute
    >>> compute(delayed(max)(1, 2), [delayed(min)(3, 4)], 5, scheduler="sync")
    (2, [3], 5)
    """
    found: list = []
    shells = [_extract(a, found, traverse) for a in args]
    if not found:
        return tuple(args)
    getter = get or get_scheduler(scheduler, found)
    owner = getattr(getter, "__self__", None)
    if get is None and hasattr(owner, "compute") and hasattr(owner, "persist"):
        # A distributed Client: its compute sends whole layers, not one task per block.
        values = owner.compute(found, sync=True, optimize_graph=optimize_graph, **kwargs)
        return tuple(_fill(s, list(values)) for s in shells)
    graph, keys = collections_to_graph(found, optimize_graph)
    results = getter(graph, keys, **kwargs)
    values = []
    for c, r in zip(found, results):
        func, extra = c.__graphengine_postcompute__()
        values.append(func(r, *extra))
    return tuple(_fill(s, values) for s in shells)


def persist(*args: Any, traverse: bool = True, optimize_graph: bool = True,
            scheduler: Any = None, **kwargs: Any) -> tuple:
    """Compute collections and return equivalent collections backed by the results.

    With a distributed Client the results stay on the cluster (the Client's ``persist``);
    locally they are held in memory in the returned collections' graphs.
    """
    found: list = []
    shells = [_extract(a, found, traverse) for a in args]
    if not found:
        return tuple(args)
    if scheduler is None and _default_clients and hasattr(_default_clients[-1], "persist"):
        persisted = _default_clients[-1].persist(found, optimize_graph=optimize_graph, **kwargs)
        return tuple(_fill(s, list(persisted)) for s in shells)
    graph, keys = collections_to_graph(found, optimize_graph)
    flat = flatten_keys(keys)
    getter = get_scheduler(scheduler, found)
    results = getter(graph, flat, **kwargs)
    data = dict(zip(flat, results))
    values = []
    for c, k in zip(found, keys):
        func, extra = c.__graphengine_postpersist__()
        own = {key: data[key] for key in flatten_keys(k)}
        values.append(func(own, *extra))
    return tuple(_fill(s, values) for s in shells)


class Collection:
    """Mixin giving a collection ``compute``, ``persist`` and ``visualize`` methods."""

    __slots__ = ()

    def compute(self, **kwargs: Any) -> Any:
        """Compute this collection and return its value (see :func:`compute`)."""
        (result,) = compute(self, traverse=False, **kwargs)
        return result

    def persist(self, **kwargs: Any) -> Any:
        """Compute and return an equivalent collection backed by the results."""
        (result,) = persist(self, traverse=False, **kwargs)
        return result

    def visualize(self, filename: str | None = "mygraph", format: str | None = None,
                  optimize_graph: bool = False, **kwargs: Any) -> Any:
        """Render the task graph with graphviz (see :func:`visualize`)."""
        return visualize(self, filename=filename, format=format,
                         optimize_graph=optimize_graph, **kwargs)


# --- visualize ----------------------------------------------------------------------------

def _label(key: Key) -> str:
    if type(key) is tuple:
        return f"{key_name(key)}{list(key[1:])}"
    return str(key)


def to_dot(graph: Mapping[Key, Any], rankdir: str = "BT") -> str:
    """Graphviz DOT text for ``graph``: a box per task (its function), an ellipse per
    result."""
    ids: dict[Key, str] = {}

    def nid(k: Key) -> str:
        if k not in ids:
            ids[k] = f"n{len(ids)}"
        return ids[k]

    lines = ["digraph graphengine {", f"  rankdir={rankdir};"]
    for key, value in graph.items():
        label = _label(key).replace('"', r"\"")
        lines.append(f'  {nid(key)} [label="{label}", shape=box];')
        if type(value) is Task:
            fname = getattr(value.func, "__name__", type(value.func).__name__)
            fid = nid(("__func__", len(ids)))
            lines.append(f'  {fid} [label="{fname}", shape=circle];')
            lines.append(f"  {fid} -> {nid(key)};")
            for d in sorted(value.dependencies, key=repr):
                lines.append(f"  {nid(d)} -> {fid};")
    lines.append("}")
    return "\n".join(lines)


def visualize(*args: Any, filename: str | None = "mygraph", format: str | None = None,
              optimize_graph: bool = False, rankdir: str = "BT", **kwargs: Any) -> Any:
    """Render the merged graph of collections with graphviz.

    Parameters
    ----------
    *args : collections
    filename : str or None
        Output file without or with extension; ``None`` returns the rendered bytes only.
    format : {"svg", "png", "pdf", "dot"}, optional
        From the filename's extension, else ``"svg"``.

    Returns
    -------
    bytes
        The rendered image (the DOT text for ``format="dot"``). In Jupyter, wrap it in
        ``IPython.display.SVG``.

    Raises
    ------
    RuntimeError
        If the graphviz ``dot`` program is not installed (``apt-get install graphviz``).
    """
    found: list = []
    for a in args:
        _extract(a, found, True)
    graph, _ = collections_to_graph(found, optimize_graph)
    if format is None:
        if filename and "." in filename.rsplit("/", 1)[-1]:
            format = filename.rsplit(".", 1)[-1]
        else:
            format = "svg"
    if format not in ("svg", "png", "pdf", "dot"):
        raise ValueError(f"format {format!r} not supported; use svg, png, pdf or dot")
    if filename and not filename.endswith("." + format):
        filename = f"{filename}.{format}"
    dot_text = to_dot(graph, rankdir=rankdir)
    if format == "dot":
        data = dot_text.encode()
    else:
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError(
                "visualize needs the graphviz 'dot' program, which is not installed "
                "(Debian: apt-get install graphviz); format='dot' gives the DOT text without it"
            )
        proc = subprocess.run([dot, f"-T{format}"], input=dot_text.encode(),
                              capture_output=True, check=False, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"graphviz dot failed: {proc.stderr.decode(errors='replace')}")
        data = proc.stdout
    if filename:
        with open(filename, "wb") as f:
            f.write(data)
    return data
