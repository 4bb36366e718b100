"""Client, Future and friends against a real in-process cluster over loopback TCP."""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import gc
import operator

import numpy as np
import pandas as pd
import pytest

import graphengine
import graphengine.array as ga
import graphengine.dataframe as gd
from graphengine.distributed import (Client, Future, as_completed, fire_and_forget,
                                     get_worker, wait)
from graphengine.errors import RemoteTraceback

pytestmark = pytest.mark.timeout(60)


def inc(x):
    return x + 1


def fail(x):
    raise ZeroDivisionError(f"cannot handle {x}")


def where_am_i(*args):
    return get_worker().address


def test_submit_returns_a_future_whose_result_is_the_value(client):
    f = client.submit(inc, 41)
    assert isinstance(f, Future)
    assert f.result(timeout=10) == 42
    assert f.done() and f.status == "finished" and f.exception() is None


def test_futures_as_arguments_are_replaced_by_their_values(client):
    a = client.submit(inc, 1)
    b = client.submit(operator.add, a, 10)
    c = client.submit(sum, [a, b, {"not": "a future"}["not"] and 0])
    assert b.result() == 12
    assert c.result() == 2 + 12 + 0


def test_map_and_gather_keep_order_and_nesting(client):
    futures = client.map(inc, range(20))
    assert client.gather(futures) == list(range(1, 21))
    nested = client.gather({"a": futures[0], "b": [futures[1], (futures[2],)]})
    assert nested == {"a": 1, "b": [2, (3,)]}


def test_large_compressible_arguments_survive_the_relay_through_the_scheduler(client):
    # The scheduler forwards task specs still compressed; the worker must decompress.
    big = np.zeros(500_000)
    big[::7] = 1.5
    assert client.submit(np.sum, big).result() == big.sum()


def test_pure_submissions_share_a_key_and_impure_ones_do_not(client):
    assert client.submit(inc, 5).key == client.submit(inc, 5).key
    assert client.submit(inc, 5, pure=False).key != client.submit(inc, 5, pure=False).key
    assert client.submit(inc, 5, key="mine").key == "mine"


def test_a_task_exception_is_reraised_with_its_type_and_remote_traceback(client):
    f = client.submit(fail, 3)
    with pytest.raises(ZeroDivisionError, match="cannot handle 3") as info:
        f.result(timeout=10)
    assert isinstance(info.value.__cause__, RemoteTraceback)
    assert "fail" in str(info.value.__cause__)
    assert isinstance(f.exception(), ZeroDivisionError)
    assert "ZeroDivisionError" in f.traceback()
    assert f.status == "error"


def test_dependents_of_a_failed_task_fail_with_its_exception(client):
    bad = client.submit(fail, 1)
    after = client.submit(inc, bad)
    with pytest.raises(ZeroDivisionError):
        after.result(timeout=10)


def test_gather_can_skip_failures(client):
    good, bad = client.submit(inc, 1), client.submit(fail, 2)
    assert client.gather([good, bad], errors="skip") == [2]


def test_result_times_out_with_a_timeout_error(client):
    import time

    f = client.submit(time.sleep, 0.5, pure=False)
    with pytest.raises(cf.TimeoutError):
        f.result(timeout=0.05)
    assert f.result(timeout=10) is None


def test_a_task_that_cannot_be_pickled_fails_at_submit_naming_it(client):
    import threading

    with pytest.raises(TypeError, match="cannot be sent") as info:
        client.submit(threading.Event().wait, 1, key="unpicklable")
    assert "unpicklable" in str(info.value)


def test_as_completed_yields_every_future_once(client):
    futures = client.map(inc, range(10), pure=False)
    seen = [f.result() for f in as_completed(futures)]
    assert sorted(seen) == list(range(1, 11))
    pairs = list(as_completed(client.map(inc, [100, 200]), with_results=True))
    assert sorted(r for _, r in pairs) == [101, 201]


def test_wait_returns_done_and_not_done_sets(client):
    futures = client.map(inc, range(5), pure=False)
    done, not_done = wait(futures, timeout=10)
    assert done == set(futures) and not not_done


def test_done_callbacks_run_with_the_future(client):
    results = cf.Future()
    client.submit(inc, 7).add_done_callback(lambda f: results.set_result(f.result()))
    assert results.result(timeout=10) == 8


def test_releasing_every_future_of_a_key_lets_the_scheduler_forget_it(client, cluster, wait_for):
    f = client.submit(inc, 1000, key="forget-me")
    assert f.result() == 1001
    assert "forget-me" in cluster.scheduler.state.tasks
    del f
    gc.collect()
    wait_for(lambda: "forget-me" not in cluster.scheduler.state.tasks, what="key forgotten")


def test_fire_and_forget_keeps_a_task_running_without_futures(client, tmp_path, wait_for):
    target = tmp_path / "written"
    fire_and_forget(client.submit(target.write_text, "done", pure=False))
    gc.collect()
    wait_for(lambda: target.exists() and target.read_text() == "done", what="task ran")


def test_cancel_marks_futures_cancelled(client):
    import time

    f = client.submit(time.sleep, 5, pure=False)
    client.cancel([f])
    assert f.cancelled()
    with pytest.raises(cf.CancelledError):
        f.result(timeout=5)


def test_retry_runs_a_failed_task_again(client, tmp_path):
    flag = tmp_path / "flag"

    def flaky():
        if not flag.exists():
            raise OSError("not yet")
        return "ok"

    f = client.submit(flaky)
    with pytest.raises(OSError):
        f.result(timeout=10)
    flag.write_text("")
    f.retry()
    assert f.result(timeout=10) == "ok"


def test_retries_argument_reruns_failures_automatically(client, tmp_path):
    counter = tmp_path / "count"
    counter.write_text("0")

    def fails_twice():
        n = int(counter.read_text()) + 1
        counter.write_text(str(n))
        if n < 3:
            raise RuntimeError(f"attempt {n}")
        return n

    assert client.submit(fails_twice, retries=2).result(timeout=10) == 3


def test_scatter_places_data_and_tasks_use_it(client):
    data = client.scatter([np.arange(5), np.ones(3)])
    assert all(f.done() and f.status == "finished" for f in data)
    assert client.submit(np.sum, data[0]).result() == 10
    named = client.scatter({"x": 3})
    assert client.submit(inc, named["x"]).result() == 4
    everywhere = client.scatter(np.zeros(4), broadcast=True)
    assert len(client.who_has([everywhere])[everywhere.key]) == 2


def test_tasks_run_where_their_large_input_lives(client, cluster):
    a, b = sorted(client.nthreads())
    big = client.scatter(np.zeros(100 * 2**20 // 8), workers=[a])
    for _ in range(5):
        assert client.submit(where_am_i, big, pure=False).result() == a


def test_worker_and_resource_restrictions(client):
    a, b = sorted(client.nthreads())
    assert client.submit(where_am_i, 1, workers=[b], pure=False).result() == b
    f = client.submit(where_am_i, 2, resources={"GPU": 1}, allow_other_workers=True,
                      pure=False)
    assert f.result(timeout=10) in (a, b)


def test_run_calls_a_function_on_every_worker(client):
    out = client.run(lambda: get_worker().nthreads)
    assert out == {addr: 2 for addr in client.nthreads()}


def test_cluster_introspection(client):
    f = client.submit(inc, 1, key="introspect")
    f.result()
    assert len(client.who_has([f])["introspect"]) == 1
    held = client.has_what()
    assert any("introspect" in keys for keys in held.values())
    info = client.scheduler_info()
    assert set(info["workers"]) == set(client.nthreads())


def test_executor_gives_concurrent_futures(client):
    with client.get_executor() as ex:
        fut = ex.submit(inc, 1)
        assert isinstance(fut, cf.Future)
        assert fut.result(timeout=10) == 2
        assert list(ex.map(inc, [1, 2, 3])) == [2, 3, 4]


def test_collections_compute_on_the_client_by_default(client, cluster):
    x = graphengine.delayed(inc)(1)
    assert x.compute() == 2
    arr = ga.from_array(np.arange(100.0).reshape(10, 10), chunks=(5, 5))
    np.testing.assert_allclose(((arr + 1) * 2).sum(axis=0).compute(),
                               ((np.arange(100.0).reshape(10, 10) + 1) * 2).sum(axis=0))
    pdf = pd.DataFrame({"k": [1, 2, 1, 2, 3], "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    df = gd.from_pandas(pdf, npartitions=2)
    pd.testing.assert_series_equal(df.groupby("k").v.sum().compute(),
                                   pdf.groupby("k").v.sum())


def test_client_compute_returns_futures_and_persist_keeps_results_on_the_cluster(client):
    arr = ga.ones((20, 20), chunks=(5, 5))
    total = client.compute(arr.sum())
    assert isinstance(total, Future)
    assert total.result() == 400
    persisted = client.persist(arr * 3)
    assert persisted.sum().compute() == 1200
    assert client.compute([arr.sum(), 5], sync=True) == [400, 5]


def test_asynchronous_client_awaits_the_same_methods(cluster):
    async def main():
        async with Client(cluster.scheduler_address, asynchronous=True,
                          set_as_default=False) as c:
            f = c.submit(inc, 10)
            assert await f == 11
            return await c.gather(c.map(inc, [1, 2]))

    assert asyncio.run(main()) == [2, 3]


def test_a_bad_address_raises_a_clear_error():
    with pytest.raises(TypeError, match="address"):
        Client(42)


def test_run_on_scheduler_gets_the_scheduler(client):
    def count_workers(scheduler):
        return len(scheduler.state.workers)

    assert client.run_on_scheduler(count_workers) == 2
    assert client.run_on_scheduler(operator.add, 2, 3) == 5


def test_upload_file_makes_a_module_importable_on_workers(client, tmp_path):
    module = tmp_path / "uploaded_helper_mod.py"
    module.write_text("def triple(x):\n    return 3 * x\n")
    names = client.upload_file(str(module))
    assert set(names.values()) == {"uploaded_helper_mod"}

    def use(x):
        import uploaded_helper_mod
        return uploaded_helper_mod.triple(x)

    assert client.submit(use, 4).result() == 12


def test_progress_draws_a_text_bar_until_done(client):
    import io

    from graphengine.distributed import progress

    out = io.StringIO()
    futures = client.map(inc, range(30), pure=False)
    progress(futures, out=out, notebook=False, timeout=30)
    assert all(f.done() for f in futures)
    assert "30/30 done, 0 erred" in out.getvalue()
    with pytest.raises(ValueError, match="persist"):
        progress(ga.ones(4, chunks=2), notebook=False)


def test_local_cluster_scales_up_and_down_without_losing_results():
    from graphengine.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster, \
            Client(cluster, set_as_default=False) as c:
        futures = c.map(inc, range(20))
        c.gather(futures)
        cluster.scale(3)
        assert len(c.nthreads()) == 3
        cluster.scale(1)
        assert len(c.nthreads()) == 1
        assert c.gather(futures) == list(range(1, 21))
        assert "workers=1" in repr(cluster) and "LocalCluster" in cluster._repr_html_()


def test_restart_cancels_every_future_and_frees_worker_memory(client, cluster, wait_for):
    futures = client.map(inc, range(10), key=[f"before-restart-{i}" for i in range(10)])
    client.gather(futures)
    assert client.restart() == 2
    wait_for(lambda: all(f.cancelled() for f in futures), what="futures cancelled")
    wait_for(lambda: not any(k.startswith("before-restart")
                             for keys in client.has_what().values() for k in keys),
             what="worker memory freed")
    assert client.submit(inc, 1).result() == 2


def test_tasks_can_submit_tasks_through_get_client(client):
    def fan_out(n):
        from graphengine.distributed import get_client

        c = get_client()
        return sum(c.gather(c.map(inc, range(n))))

    assert client.submit(fan_out, 5).result(timeout=30) == sum(range(1, 6))


def test_a_seceded_task_frees_its_thread_for_the_tasks_it_waits_on():
    from graphengine.distributed import LocalCluster, rejoin, secede

    def parent(n):
        from graphengine.distributed import get_client

        c = get_client()
        futures = c.map(inc, range(n), pure=False)
        secede()  # without this, the only thread would wait on tasks that cannot start
        values = c.gather(futures)
        rejoin()
        return sum(values)

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster, \
            Client(cluster, set_as_default=False) as c:
        assert c.submit(parent, 4).result(timeout=30) == 1 + 2 + 3 + 4
        assert c.submit(inc, 1).result(timeout=10) == 2  # the slot came back


def test_a_new_idle_worker_steals_queued_work():
    import time

    from graphengine.distributed import LocalCluster

    def slow(data):
        time.sleep(0.2)
        return get_worker().address

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster, \
            Client(cluster, set_as_default=False) as c:
        data = c.scatter([1])[0]
        futures = c.map(slow, [data] * 8, pure=False)  # all queued where the data is
        cluster.scale(2)
        assert len(set(c.gather(futures))) == 2  # the newcomer took some of them


def test_a_result_lost_with_its_worker_is_recomputed_for_its_future():
    from graphengine.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster, \
            Client(cluster, set_as_default=False) as c:
        a, b = sorted(c.nthreads())
        f = c.submit(where_am_i, 1, workers=[a], allow_other_workers=True, pure=False)
        assert f.result(timeout=10) == a
        holder = next(w for w in cluster.workers.values() if w.address == a)
        cluster._runner.run_sync(holder.close)  # abrupt: no retirement, data gone
        assert f.result(timeout=20) == b  # recomputed on the survivor


def test_a_client_of_an_in_process_cluster_shares_its_loop_and_closes_in_any_order():
    from graphengine.distributed import LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                           dashboard_address=None)
    first = Client(cluster, set_as_default=False)
    second = Client(cluster, set_as_default=False)
    assert first._runner is cluster._runner and second._runner is cluster._runner
    assert first.submit(inc, 1).result(timeout=10) == 2
    first.close()  # must not stop the loop the cluster and the other client run on
    assert second.submit(inc, 2).result(timeout=10) == 3
    cluster.close()
    second.close()  # after its cluster: no hang, no error
    assert second.status == "closed"
