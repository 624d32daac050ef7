"""The process and the machine it runs on: how many threads to use (physical cores, the cgroup CPU quota), sizing
the thread pools, file modes, and the rank a launcher gave this process."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path


def private_files() -> None:
    """Make every file this process creates 0600 and every folder 0700 (umask 077, stricter bits kept), so the
    workspace (documents, uploads, indexes, job results) is readable by its owner alone."""
    os.umask(os.umask(0o077) | 0o077)


def apply_threads(threads: int) -> None:
    """Size the thread pools to ``threads`` without loading any of them: the environment variables OpenMP, MKL,
    OpenBLAS and torch read when they load (unless already set), and torch itself only when this process has
    already loaded it (a torch model sets its own threads where it loads; see the embedders and generators)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("LANCE_LOG", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads") and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def default_threads(root: Path = Path("/"), env: Mapping[str, str] | None = None, cpus: list[int] | None = None) -> int:
    """Threads to use when none are configured: ``RAGTUNE_THREADS`` when set, else the physical cores of the CPUs this
    process may run on (``cpus``, default ``os.sched_getaffinity``), or the cgroup CPU quota when that is lower
    (at least 1). ``root`` is where ``/sys`` and ``/proc`` are read (a folder of fake files in tests)."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if environ.get("RAGTUNE_THREADS", "").strip().isdigit() and int(environ["RAGTUNE_THREADS"]) >= 1:
        return int(environ["RAGTUNE_THREADS"])
    return machine_cores(root, cpus)


def machine_cores(root: Path = Path("/"), cpus: list[int] | None = None) -> int:
    """The cores this process may compute on, whatever threads are configured: the physical cores of ``cpus``
    (default ``os.sched_getaffinity``), or the cgroup CPU quota when that is lower (at least 1)."""
    cores = physical_cores(_usable_cpus() if cpus is None else cpus, root / "sys/devices/system/cpu")
    quota = cgroup_cpu_limit(root)
    return max(1, min(cores, quota) if quota is not None else cores)


def _usable_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return list(range(os.cpu_count() or 1))


def physical_cores(cpus: list[int], sysfs: Path) -> int:
    """How many physical cores ``cpus`` (logical CPU numbers) lie on: hyper-threads of one core count once. Where the
    topology cannot be read, every logical CPU counts."""
    cores: set[tuple[str, str]] = set()
    for cpu in cpus:
        topology = sysfs / f"cpu{cpu}" / "topology"
        package, core = _read_text(topology / "physical_package_id"), _read_text(topology / "core_id")
        if package is None or core is None:
            return max(1, len(cpus))
        cores.add((package, core))
    return max(1, len(cores))


def cgroup_cpu_limit(root: Path = Path("/")) -> int | None:
    """Whole CPUs the cgroup CPU quota allows (rounded down, at least 1), or None without a quota. Reads cgroup v2
    ``cpu.max`` and cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``, in the process's own cgroup
    (``/proc/self/cgroup``) and at the root of the mount; the lowest quota found wins."""
    limits: list[float] = []
    mount = root / "sys/fs/cgroup"
    own_v2, own_v1 = _own_cgroups(root)
    for folder in {mount / own_v2, mount}:
        fields = (_read_text(folder / "cpu.max") or "").split()
        if len(fields) == 2 and _positive(fields[0]) and _positive(fields[1]):
            limits.append(float(fields[0]) / float(fields[1]))
    for folder in {mount / name / own_v1 for name in ("cpu", "cpu,cpuacct")} | {mount / "cpu", mount / "cpu,cpuacct"}:
        quota, period = _read_text(folder / "cpu.cfs_quota_us"), _read_text(folder / "cpu.cfs_period_us")
        if quota and period and _positive(quota) and _positive(period):
            limits.append(float(quota) / float(period))
    return max(1, math.floor(min(limits))) if limits else None


def _own_cgroups(root: Path) -> tuple[str, str]:
    """This process's cgroup v2 path (``0::/a/b``) and its v1 ``cpu`` controller path, relative ('' for the root)."""
    v2 = v1 = ""
    for line in (_read_text(root / "proc/self/cgroup") or "").splitlines():
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if number == "0" and not controllers:
            v2 = path.strip().strip("/")
        elif "cpu" in controllers.split(","):
            v1 = path.strip().strip("/")
    return v2, v1


def _positive(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def launch_env() -> tuple[int, int, bool]:
    """This process's rank and the world size under a launcher (``torchrun``, ``accelerate launch``: their ``RANK`` and
    ``WORLD_SIZE``; 0 and 1 otherwise), and whether the launch asked for FSDP (``RAGTUNE_FSDP``)."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")), os.environ.get("RAGTUNE_FSDP") == "1"


def loaded_device(configured: str) -> str:
    """Where a local model configured for ``configured`` (``auto``, ``cpu``, ``cuda`` ...) ran in this process: ``auto``
    is the GPU when torch is loaded and sees one (torch not loaded: no local model ran on a GPU here)."""
    if configured != "auto":
        return configured
    torch = sys.modules.get("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() else "cpu"
