"""Where tasks run: in this process (``local``, needs nothing) or on Ray (``ray``, ``pip install vislrp[ray]``).

Both call ``on_rows(rows)`` as results arrive, so the progress bar and the output table fill the same way.
With Ray the network's weights and the preprocessed images go to the object store once; each worker is an
actor that builds the network once and keeps its engine (and forward cache) across its tasks; tasks are
handed out image-chunk by image-chunk so a worker sees the same images again; results stream back in the
order they finish. Outputs are written by the driver only, so on a cluster they land where the command ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ..session import Session, open_session
from .runner import BatchJob, Row, SweepJob, Task, Worker

OnRows = Callable[[Task, list[Row]], None]


class ExecutorError(RuntimeError):
    """The executor cannot run (Ray missing, cluster unreachable)."""


@dataclass
class LocalExecutor:
    """Runs every task in this process with the caller's session; rows arrive point by point."""

    def run(self, session: Session, job: SweepJob | BatchJob, xs: torch.Tensor, tasks: list[Task],
            on_rows: OnRows) -> None:
        worker = Worker(session, job, xs)
        for task in tasks:
            if isinstance(job, SweepJob):
                for p in task.points:  # finer progress: one point at a time
                    on_rows(Task((p,), task.images), worker.run_point(p, task.images))
            else:
                on_rows(task, worker.run(task))


def _actor_session(model: str, fold_bn: bool, state: Mapping[str, torch.Tensor], threads: int) -> Session:
    torch.set_num_threads(threads)
    return open_session(model, "none", fold_bn=fold_bn, state=state)


@dataclass
class RayExecutor:
    """Runs tasks on Ray actors: ``workers`` of them, ``cpus`` CPUs (and torch threads) each.

    ``address``: None starts (or reuses) a local Ray; ``auto`` or ``ray://host:10001`` joins a cluster.
    """

    workers: int | None = None
    cpus: int = 1
    address: str | None = None

    def run(self, session: Session, job: SweepJob | BatchJob, xs: torch.Tensor, tasks: list[Task],
            on_rows: OnRows) -> None:
        try:
            import ray
        except ImportError:
            raise ExecutorError("--executor ray needs Ray: pip install 'vislrp[ray]'") from None
        if not tasks:
            return
        started = False
        if not ray.is_initialized():
            try:
                if self.address:
                    ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(num_cpus=max(self.cpus * (self.workers or 1), os.cpu_count() or 1),
                             include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ExecutorError(f"cannot start or reach Ray at {self.address or 'a local instance'}: "
                                    f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc}") from None
            started = True
        try:
            self._run(ray, session, job, xs, tasks, on_rows)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray: Any, session: Session, job: SweepJob | BatchJob, xs: torch.Tensor, tasks: list[Task],
             on_rows: OnRows) -> None:
        available = int(ray.cluster_resources().get("CPU", 1))
        n = max(1, min(self.workers or max(1, available // self.cpus), len(tasks)))
        state = {k: v.detach().cpu() for k, v in session.zoo.module.state_dict().items()}
        state_ref, xs_ref, job_ref = ray.put(state), ray.put(xs.cpu()), ray.put(job)

        @ray.remote(num_cpus=self.cpus)
        class _Actor:
            def __init__(self, model: str, fold_bn: bool, state: Any, job: Any, xs: Any, threads: int) -> None:
                self.worker = Worker(_actor_session(model, fold_bn, state, threads), job, xs)

            def run(self, task: Task) -> tuple[Task, list[Row]]:
                return task, self.worker.run(task)

        actors = [_Actor.remote(  # type: ignore[attr-defined]  # ray.remote adds .remote at run time
                  session.zoo.name, session.graph.folded_bn, state_ref, job_ref, xs_ref, self.cpus)
                  for _ in range(n)]
        # contiguous blocks of the image-major task list: each actor sees few image chunks
        per = -(-len(tasks) // n)
        pending = [actors[k // per].run.remote(task) for k, task in enumerate(tasks)]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            task, rows = ray.get(done[0])
            on_rows(task, rows)
        for actor in actors:
            ray.kill(actor)


def get_executor(name: str, *, workers: int | None = None, cpus: int = 1,
                 address: str | None = None) -> LocalExecutor | RayExecutor:
    """``local`` or ``ray`` (the options only matter for Ray)."""
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(workers=workers, cpus=cpus, address=address)
    raise ExecutorError(f"unknown executor {name!r}; choose local or ray")
