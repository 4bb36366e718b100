"""The ``update-graph`` message: how a client hands a graph to the scheduler.

Tasks travel pickled one by one; lazy layers kept whole (see
:func:`~graphengine.collections.base.collections_to_layers`) travel as one pickled layer
plus a :class:`~graphengine.graph.layer_plan.GridPlan` the scheduler expands into
dependencies itself. A 10,000-block elementwise step is then one small message entry, not
10,000 pickled tasks, and the client never builds its tasks.

Priorities come from the static order over the whole graph, computed here on the client
so the shared scheduler does not pay for it; a layer's priorities are a list in the
order of its plan's keys.
"""
from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from graphengine.comm import serialize
from graphengine.graph.order import order as static_order
from graphengine.graph.spec import dependencies_of

__all__ = ["update_graph_message"]

logger = logging.getLogger(__name__)


def _serialize_task(key: Hashable, value: Any) -> Any:
    # Serialize here, not in the batched stream: a task that cannot be pickled must fail
    # the submitting call, naming the task, instead of being dropped later.
    try:
        return serialize(value)
    except TypeError as e:
        raise TypeError(f"task {key!r} cannot be sent to the cluster: {e}") from e


def update_graph_message(tasks: Mapping[Hashable, Any], keys: list,
                         layers: Sequence[tuple] = (), *, workers: Any = None,
                         resources: Mapping[str, float] | None = None, retries: int = 0,
                         priority: int = 0, allow_other_workers: bool = False,
                         order: Mapping | None | bool = None) -> dict:
    """Build the message that submits ``tasks`` and ``layers`` and wants ``keys``.

    Parameters
    ----------
    tasks : mapping
        ``key -> Task | value`` to send one by one.
    keys : list
        The keys the client holds futures for.
    layers : sequence of (Layer, GridPlan)
        Lazy layers sent whole.
    workers, resources, retries, priority, allow_other_workers
        As for ``Client.submit``; they apply to every task of the submission.
    order : mapping, True or None
        Static priorities to send; ``True`` computes them over the whole graph here;
        None (a plain submission) keeps the order given.

    Raises
    ------
    TypeError
        If a task or layer cannot be pickled; the message names it.
    """
    specs = {k: _serialize_task(k, v) for k, v in tasks.items()}
    dependencies = {k: list(dependencies_of(v)) for k, v in tasks.items()}
    layer_msgs = []
    layer_deps: list[dict] = []
    for layer, plan in layers:
        try:
            spec = serialize(layer)
        except TypeError as e:
            raise TypeError(f"layer {plan.name!r} cannot be sent to the cluster: {e}") from e
        layer_msgs.append({"plan": plan.to_msg(), "spec": spec})
        layer_deps.append(dict(plan.expand()) if order is True else {})
    if order is True:
        deps = dict(dependencies)
        for d in layer_deps:
            deps.update(d)
        try:
            order = static_order(deps, dependencies=deps)
        except Exception:  # noqa: BLE001 - order is an optimisation, never a must
            logger.debug("no static order for this graph", exc_info=True)
            order = None
    all_keys: list = list(tasks)
    for (_, plan), d, m in zip(layers, layer_deps, layer_msgs):
        layer_keys = list(d) if d else list(plan.keys())
        all_keys += layer_keys
        if order:
            m["order"] = [order.get(k, 0) for k in layer_keys]
    msg: dict = {"op": "update-graph", "tasks": specs, "dependencies": dependencies,
                 "keys": keys, "user_priority": priority, "retries": retries}
    # Without a static order, tasks of one submission run in the order given (the
    # scheduler and the workers break priority ties by it, and stealing takes the last
    # ones, which a busy worker would start last).
    msg["order"] = ({k: order[k] for k in tasks if k in order} if order
                    else {k: i for i, k in enumerate(tasks)})
    if layer_msgs:
        msg["layers"] = layer_msgs
    if workers is not None:
        names = [workers] if isinstance(workers, str) else list(workers)
        msg["restrictions"] = {k: names for k in all_keys}
    if resources:
        msg["resources"] = {k: dict(resources) for k in all_keys}
    if allow_other_workers:
        msg["loose_restrictions"] = all_keys
    return msg

