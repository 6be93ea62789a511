"""Data-parallel LeNet with JAX's multi-process runtime: ``jax.distributed`` over gloo CPU collectives.

``commands(processes, folder)`` starts one process per rank (``python -m backends.jax.data_parallel
FOLDER RANK PROCESSES PORT``, rank 0 the coordinator on ``127.0.0.1:PORT``). Each process holds one
CPU device of a global mesh with the axis ``ranks``; a step is one ``jax.jit`` of ``jax.shard_map``
over that mesh: each rank the adapter's network (:func:`backends.jax.lenet.lenet_logits`) and loss
(:func:`backends.jax.ops.cross_entropy`, the mean over its shard) differentiated by
``jax.value_and_grad`` at the rank's own copy of the parameters, the gradients and the loss
averaged with ``lax.pmean``, then the adapter's plain SGD ``p - lr g``. Always on the CPU
(``jax_platforms=cpu``): GPUs per process are not handled. With one thread per process
(``processes`` >= the cores), XLA's multi-threaded Eigen is switched off.
"""

from __future__ import annotations

import os
import socket
import sys
from functools import partial
from pathlib import Path

import jax
import numpy as np
from jax import lax
from jax.experimental import multihost_utils
from jax.sharding import Mesh, PartitionSpec

from backends.jax.lenet import lenet_logits
from backends.jax.ops import cross_entropy
from conformance.data_parallel import worker
from conformance.data_parallel.job import Arrays, read_spec
from reference.lenet import PARAM_SHAPES, variant_of

AXIS = "ranks"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def commands(processes: int, folder: Path) -> list[list[str]]:
    """One command per rank; rank 0 coordinates on a free local port."""
    port = str(_free_port())
    module = [sys.executable, "-m", "backends.jax.data_parallel", str(folder)]
    return [[*module, str(rank), str(processes), port] for rank in range(processes)]


class JaxReplica:
    """One rank's LeNet on its CPU device of the global mesh (a ``worker.Replica``)."""

    def __init__(self, variant: str) -> None:
        self.mesh = Mesh(np.array(jax.devices()), (AXIS,))
        self._spec = variant_of(variant)
        self._params: dict[str, jax.Array] = {}

    def _global(self, value: np.ndarray, spec: PartitionSpec) -> jax.Array:
        return multihost_utils.host_local_array_to_global_array(value, self.mesh, spec)

    @partial(jax.jit, static_argnums=(0, 4))
    def _step(self, params, X, y, lr: float):
        def local(params, X, y):
            def loss_of(p):
                return cross_entropy(lenet_logits(p, X, self._spec), y)

            # Differentiated at a per-rank ("varying") copy: the gradient of the replicated parameters
            # themselves would come back already summed over the ranks (shard_map's transpose of the
            # implicit broadcast is a psum), and pmean of that is the sum, not the mean.
            local_params = {name: lax.pcast(p, AXIS, to="varying") for name, p in params.items()}
            loss, grads = jax.value_and_grad(loss_of)(local_params)
            grads, loss = lax.pmean((grads, loss), AXIS)
            return {name: p - lr * grads[name] for name, p in params.items()}, loss

        shards = PartitionSpec(AXIS)
        replicated = PartitionSpec()
        return jax.shard_map(
            local, mesh=self.mesh, in_specs=(replicated, shards, shards), out_specs=(replicated, replicated)
        )(params, X, y)

    def load(self, params: Arrays) -> None:
        self._params = {
            name: self._global(np.asarray(params[name]), PartitionSpec()) for name in PARAM_SHAPES
        }

    def step(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        shards = PartitionSpec(AXIS)
        X, y = self._global(np.asarray(X), shards), self._global(np.asarray(y), shards)
        self._params, loss = self._step(self._params, X, y, float(lr))
        return float(np.asarray(loss.addressable_data(0)))

    def params(self) -> Arrays:
        return {name: np.asarray(value.addressable_data(0)) for name, value in self._params.items()}


def main(folder: Path, rank: int, processes: int, port: int) -> None:
    """One rank: join the coordinator, then run the job."""
    job = read_spec(folder)
    if job.threads == 1:  # XLA reads its flags when the CPU backend starts, below
        os.environ["XLA_FLAGS"] = " ".join(
            [os.environ.get("XLA_FLAGS", ""), "--xla_cpu_multi_thread_eigen=false"]
        )
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=processes, process_id=rank)
    try:
        worker.run(folder, rank, JaxReplica(job.variant))
    finally:
        jax.distributed.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), *(int(arg) for arg in sys.argv[2:5]))
