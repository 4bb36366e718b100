"""Layers a client shipped whole: expanded here into tasks, sent to workers once each.

The client sends a lazy layer as a :class:`~graphengine.graph.layer_plan.GridPlan`
(names and ints) plus the pickled layer, which the scheduler never opens. Expanding the
plan gives every task's key and dependencies; all tasks of the layer share one
:class:`LayerRun` as their ``run_spec``. When such a task goes to a worker, the message
names the layer by id and carries the pickled layer only the first time that worker
gets a task of it. When the scheduler has forgotten every task of the layer (the
``LayerRun`` is garbage), the workers that got it are told ``free-layers``.

    >>> from graphengine.graph.layer_plan import GridPlan
    >>> layers = ShippedLayers()
    >>> tasks, deps, order = {}, {}, {}
    >>> plan = GridPlan("y", (2,), [("x", (0,), ())])
    >>> layers.expand([{"plan": plan.to_msg(), "spec": b"...", "order": [5, 6]}],
    ...               tasks, deps, order)
    >>> deps, order
    ({('y', 0): [('x', 0)], ('y', 1): [('x', 1)]}, {('y', 0): 5, ('y', 1): 6})
    >>> msg = layers.compute_message("w1", {"op": "compute-task", "run_spec": tasks[("y", 0)]})
    >>> msg["run_spec"], "layer_spec" in msg
    ({'layer': 0}, True)
    >>> "layer_spec" in layers.compute_message("w1", {"run_spec": tasks[("y", 1)]})
    False
"""
from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from graphengine.graph.layer_plan import GridPlan

__all__ = ["LayerRun", "ShippedLayers", "MAX_LAYER_TASKS"]

#: Most tasks one shipped layer may expand to: a few bytes of plan must not make the
#: scheduler build billions of tasks.
MAX_LAYER_TASKS = 50_000_000


class LayerRun:
    """The ``run_spec`` shared by every task of one shipped layer."""

    __slots__ = ("id", "spec", "sent_to", "__weakref__")

    def __init__(self, layer_id: int, spec: Any):
        self.id = layer_id
        self.spec = spec
        self.sent_to: set[str] = set()

    def __repr__(self) -> str:
        return f"<LayerRun {self.id}: sent to {len(self.sent_to)} workers>"


class ShippedLayers:
    """The shipped layers the scheduler's tasks refer to, and which worker has which."""

    def __init__(self) -> None:
        self._next_id = 0
        self._live: weakref.WeakValueDictionary[int, LayerRun] = weakref.WeakValueDictionary()
        self._dead: list[tuple[int, set]] = []

    def __len__(self) -> int:
        return len(self._live)

    def expand(self, layer_msgs: Iterable[dict], tasks: dict, dependencies: dict,
               order: dict) -> None:
        """Add the tasks of ``layer_msgs`` (from an ``update-graph``) to ``tasks``,
        ``dependencies`` and ``order``, in place.

        Raises
        ------
        ValueError
            If a layer message is malformed or too large; the message names the layer.
        """
        for msg in layer_msgs:
            plan = GridPlan.from_msg(msg.get("plan") or {})
            n = len(plan)
            if n > MAX_LAYER_TASKS:
                raise ValueError(f"layer {plan.name!r} has {n} tasks, more than the "
                                 f"{MAX_LAYER_TASKS} one layer may have")
            priorities = msg.get("order")
            if priorities is not None and len(priorities) != n:
                raise ValueError(f"layer {plan.name!r}: {len(priorities)} priorities for "
                                 f"{n} tasks")
            if "spec" not in msg:
                raise ValueError(f"layer {plan.name!r} came without its spec")
            run = self._new_run(msg["spec"])
            if priorities is None:
                for key, deps in plan.expand():
                    tasks[key] = run
                    dependencies[key] = deps
            else:
                for (key, deps), p in zip(plan.expand(), priorities):
                    tasks[key] = run
                    dependencies[key] = deps
                    order[key] = p

    def _new_run(self, spec: Any) -> LayerRun:
        run = LayerRun(self._next_id, spec)
        self._next_id += 1
        self._live[run.id] = run
        # Called when the last task holding it lets go; the sent_to set is shared, so it
        # still names every worker that got the layer by then.
        weakref.finalize(run, self._layer_gone, run.id, run.sent_to)
        return run

    def _layer_gone(self, layer_id: int, sent_to: set) -> None:
        if sent_to:
            self._dead.append((layer_id, sent_to))

    def compute_message(self, address: str, msg: dict) -> dict:
        """``msg`` (a ``compute-task`` with a :class:`LayerRun`) as sent to ``address``."""
        run: LayerRun = msg["run_spec"]
        out = dict(msg)
        out["run_spec"] = {"layer": run.id}
        if address not in run.sent_to:
            run.sent_to.add(address)
            out["layer_spec"] = run.spec
        return out

    def worker_removed(self, address: str) -> None:
        """A worker left: one that comes back at its address has none of our layers."""
        for run in list(self._live.values()):
            run.sent_to.discard(address)

    def take_freed(self) -> dict[str, list[int]]:
        """Per worker address, the ids of layers it may forget now."""
        out: dict[str, list[int]] = {}
        dead, self._dead = self._dead, []
        for layer_id, addresses in dead:
            for a in addresses:
                out.setdefault(a, []).append(layer_id)
        return out
