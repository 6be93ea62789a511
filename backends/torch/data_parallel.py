"""Data-parallel LeNet with ``torch.nn.parallel.DistributedDataParallel``, started by torchrun.

``commands(processes, folder)`` is one ``python -m torch.distributed.run --standalone
--nproc-per-node N -m backends.torch.data_parallel FOLDER``; each rank runs this module. The model
is the adapter's :class:`~backends.torch.lenet.TorchLeNet` (its ``nn.Sequential`` parameters and its
forward, custom conv1 backward included), wrapped in a module whose ``forward`` is the adapter's, so
that DDP's hooks average the gradients over the ranks (an all-reduce of their sum, divided by the
world size) before the step of ``torch.optim.SGD``, the adapter's plain SGD. Process group: gloo
on the CPU, nccl with one GPU per rank (:func:`select_device`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from backends.torch.lenet import TorchLeNet
from conformance.data_parallel import worker
from conformance.data_parallel.job import Arrays, read_spec


def commands(processes: int, folder: Path) -> list[list[str]]:
    """One torchrun command that starts ``processes`` ranks on this machine."""
    return [[
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
        "-m", "backends.torch.data_parallel", str(folder),
    ]]  # fmt: skip


def select_device(local_rank: int, local_ranks: int, gpus: int) -> tuple[str, str]:
    """The process group's backend and the rank's device: ``("nccl", "cuda:<local_rank>")`` when the
    machine has a GPU for each of its ``local_ranks`` ranks (NCCL refuses two ranks on one GPU), else
    ``("gloo", "cpu")``.

    >>> select_device(1, 2, 2)
    ('nccl', 'cuda:1')
    >>> select_device(1, 4, 2), select_device(0, 1, 0)
    (('gloo', 'cpu'), ('gloo', 'cpu'))
    """
    return ("nccl", f"cuda:{local_rank}") if gpus >= local_ranks else ("gloo", "cpu")


class _Forward(nn.Module):
    """The adapter's network as a module: its parameters, and its forward (``TorchLeNet._forward``)."""

    def __init__(self, model: TorchLeNet) -> None:
        super().__init__()
        self.net = model.net  # registers the parameters that DDP synchronises
        self._model = [model]  # in a list: not a submodule

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self._model[0]._forward(X)


class TorchReplica:
    """One rank's LeNet under DistributedDataParallel (:class:`~conformance.data_parallel.worker.Replica`)."""

    def __init__(self, variant: str, device: str) -> None:
        self.model = TorchLeNet(variant, "float32", device)
        self.device = device
        self.ddp = DistributedDataParallel(_Forward(self.model))
        self.world = dist.get_world_size()
        self.optimizer = torch.optim.SGD(self.model.net.parameters(), lr=0.0)  # the adapter's update

    def load(self, params: Arrays) -> None:
        self.model.load_params(params)

    def step(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        model = self.model
        model.net.zero_grad(set_to_none=True)
        X, y = torch.as_tensor(X, device=self.device), torch.as_tensor(y, device=self.device)
        loss = model.loss(self.ddp(X), y)
        loss.backward()  # DDP's hooks all-reduce the gradients and divide them by the world size
        self.optimizer.param_groups[0]["lr"] = lr
        self.optimizer.step()
        total = loss.detach().clone()
        dist.all_reduce(total)
        return float(total) / self.world

    def params(self) -> Arrays:
        return self.model.params()


def main(folder: Path) -> None:
    """One rank, as torchrun starts it (``RANK``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``WORLD_SIZE``
    and the rendezvous in the environment)."""
    job = read_spec(folder)
    torch.set_num_threads(job.threads)
    local_rank, local_ranks = int(os.environ["LOCAL_RANK"]), int(os.environ["LOCAL_WORLD_SIZE"])
    backend, device = select_device(local_rank, local_ranks, torch.cuda.device_count())
    if device != "cpu":
        torch.cuda.set_device(device)
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    dist.init_process_group(backend)
    try:
        worker.run(folder, dist.get_rank(), TorchReplica(job.variant, device))
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
