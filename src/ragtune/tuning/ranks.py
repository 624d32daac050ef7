"""Training under a launcher (``ragtune.tuning.launch``): every rank runs the same tuner on its share of each batch
(DDP, or FSDP), and only rank 0, the leader, writes: the run state, the log, checkpoints, the best model, the data it
builds, and the published version. The other ranks join the leader's run read-only.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ragtune.machine import launch_env


def world() -> tuple[int, int]:
    """``(rank, world size)`` of this process; ``(0, 1)`` outside a launcher."""
    rank, size, _ = launch_env()
    return rank, size


def is_leader() -> bool:
    """Whether this process writes (rank 0, or the only process)."""
    return world()[0] == 0


def fsdp_requested() -> bool:
    """Whether the launch asked for FSDP (full sharding) rather than DDP."""
    rank, size, fsdp = launch_env()
    return fsdp and size > 1


def start(device: str) -> None:
    """Join the process group before anything is read or written (a no-op in a single process)."""
    if world()[1] > 1:
        from accelerate import PartialState

        PartialState(cpu=device == "cpu")


_depth = [0]


@contextmanager
def leader_first() -> Iterator[None]:
    """Rank 0 runs the block first; the other ranks wait for it, then run theirs (reading what it wrote). Inside
    another such block it adds no wait of its own."""
    if world()[1] <= 1 or _depth[0]:
        yield
        return
    from accelerate import PartialState

    _depth[0] += 1
    try:
        with PartialState().main_process_first():
            yield
    finally:
        _depth[0] -= 1


def agree(flag: bool) -> bool:
    """``flag`` made the same on every rank (true when any rank's is), so no rank leaves the training loop alone."""
    if world()[1] <= 1:
        return flag
    import torch
    import torch.distributed as dist

    device = f"cuda:{torch.cuda.current_device()}" if dist.get_backend() == "nccl" else "cpu"
    value = torch.tensor([int(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
