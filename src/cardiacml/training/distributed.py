"""Distributed data parallel (``torchrun``) and mixed precision for the training loop.

``torchrun`` sets WORLD_SIZE, RANK, LOCAL_RANK; :func:`init_distributed` joins the process group
(gloo on CPU, NCCL on CUDA) and is a no-op in a single process. Only rank 0 logs and writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class DistContext:
    """This process's place in a distributed run (``torchrun`` sets WORLD_SIZE, RANK, LOCAL_RANK)."""

    world: int = 1
    rank: int = 0
    local_rank: int = 0
    local_world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def check_processes(nproc: int, device: str = "auto", batch_size: int | None = None) -> None:
    """Refuse a process count that cannot train, before any process starts (a one-line UsageError).

    Parameters
    ----------
    nproc : int
        Training processes on this machine (``train --nproc``).
    device : str
        ``train --device``: on CUDA each process takes a GPU; on CPU a core.
    batch_size : int, optional
        Examples per optimisation step, shared among the processes: each needs at least one.
    """
    from .. import utils
    from ..errors import UsageError

    if nproc < 1:
        raise UsageError(f"--nproc must be 1 or more, got {nproc}")
    if batch_size is not None:
        refuse_batch_share(nproc, batch_size, f"--nproc {nproc}")
    if nproc == 1:
        return
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but PyTorch sees no CUDA GPU; use --device cpu or auto")
    if device != "cpu" and torch.cuda.is_available():
        if nproc > torch.cuda.device_count():
            raise UsageError(_gpus_needed(nproc))
    elif nproc > (cores := utils.cpu_cores()):  # 99 processes on 2 cores loaded the data 99 times, no epoch reached
        raise UsageError(f"--nproc {nproc}: this process may run on {cores} CPU cores, and on CPU each training process needs "
                         f"one (more only fight each other); use --nproc {cores} or fewer")


def refuse_batch_share(processes: int, batch_size: int, who: str) -> None:
    """Refuse more processes than examples in a batch (each batch is shared among them: every batch was skipped, a run
    that trained nothing); ``who`` names the processes (``--nproc 4``, ``4 processes``) in the one-line UsageError.

    Every process of a run meets the same refusal: the error is marked ``every_process`` so that only rank 0 says it
    (see :func:`wait_for_rank0`)."""
    if processes > batch_size:
        from ..errors import UsageError, every_process

        raise every_process(UsageError(f"{who} with --batch-size {batch_size}: each batch is shared among the processes "
                                       f"and each needs an example of it; use --batch-size {processes} or more, or "
                                       "fewer processes"))


def wait_for_rank0(seconds: float = 10.0) -> None:
    """On a process other than rank 0 refused for the same reason as rank 0: wait quietly for rank 0 to say it and
    torchrun to stop this one (one that left first had torchrun stop rank 0, perhaps before it had said it)."""
    import time

    try:
        time.sleep(seconds)
    except KeyboardInterrupt:  # Ctrl-C: leave as refused
        pass


def _gpus_needed(local_world: int) -> str:
    return (f"{local_world} processes on this machine need {local_world} GPUs (NCCL: one per process); it has "
            f"{torch.cuda.device_count()}: use --nproc {torch.cuda.device_count()}, or --device cpu")


def world_size() -> int:
    """Processes of this distributed run (``torchrun``'s WORLD_SIZE); 1 outside one."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def init_distributed(device: str = "auto") -> DistContext:
    """Join the process group when started by ``torchrun`` (gloo on CPU, NCCL on CUDA); a no-op otherwise."""
    world = world_size()
    if world <= 1:
        return DistContext()
    import torch.distributed as dist

    use_cuda = torch.cuda.is_available() and device != "cpu"
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    if use_cuda and local_world > torch.cuda.device_count():  # NCCL takes one GPU per process
        from ..errors import UsageError

        raise UsageError(_gpus_needed(local_world))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    ctx = DistContext(world, int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")),
                      local_world)
    if use_cuda:
        torch.cuda.set_device(ctx.local_rank)
    return ctx


def autocast_context(device: torch.device, amp: str):
    """bf16 / fp16 autocast on CUDA; a no-op context on CPU or with amp="off". Returns (context, GradScaler or None)."""
    import contextlib

    if device.type != "cuda" or amp == "off":
        return contextlib.nullcontext(), None
    dtype = torch.float16 if amp == "fp16" or (amp == "auto" and not torch.cuda.is_bf16_supported()) else torch.bfloat16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler




def global_mean(total: float, norm: float, ctx: DistContext) -> float:
    """Epoch training loss: the loss summed over every process's examples over the summed normalisers."""
    if ctx.world > 1:
        import torch.distributed as dist

        on = "cuda" if dist.get_backend() == "nccl" else "cpu"  # NCCL reduces CUDA tensors only
        t = torch.tensor([total, norm], dtype=torch.float64, device=on)
        dist.all_reduce(t)
        total, norm = float(t[0]), float(t[1])
    return total / max(norm, 1e-12)


