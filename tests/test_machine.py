"""The default thread count: physical cores of the CPUs the process may use, capped by the cgroup CPU quota, with
RAGTUNE_THREADS over both; read from fake /sys and /proc trees."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ragtune.config import RagtuneConfig
from ragtune.machine import apply_threads, cgroup_cpu_limit, default_threads, physical_cores


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def machine(root: Path, cores: dict[int, tuple[int, int]]) -> Path:
    """CPUs ``{cpu: (package, core)}`` in ``root/sys/devices/system/cpu``."""
    for cpu, (package, core) in cores.items():
        write(root, f"sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id", str(package))
        write(root, f"sys/devices/system/cpu/cpu{cpu}/topology/core_id", str(core))
    return root


def test_hyperthreads_of_one_core_count_once(tmp_path):
    root = machine(tmp_path, {0: (0, 0), 1: (0, 1), 2: (0, 0), 3: (0, 1), 4: (1, 0), 5: (1, 0)})
    sysfs = root / "sys/devices/system/cpu"
    assert physical_cores([0, 1, 2, 3, 4, 5], sysfs) == 3
    assert physical_cores([0, 2], sysfs) == 1  # the affinity mask holds one core's two threads
    assert physical_cores([0, 1, 7], sysfs) == 3  # topology unreadable for cpu7: every logical CPU counts


@pytest.mark.parametrize("files, limit", [
    ({}, None),
    ({"sys/fs/cgroup/cpu.max": "max 100000"}, None),
    ({"sys/fs/cgroup/cpu.max": "200000 100000"}, 2),
    ({"sys/fs/cgroup/cpu.max": "150000 100000"}, 1),  # 1.5 CPUs: rounded down
    ({"sys/fs/cgroup/cpu.max": "20000 100000"}, 1),  # a fifth of a CPU: still one thread
    ({"sys/fs/cgroup/cpu.max": "garbage"}, None),
    ({"proc/self/cgroup": "0::/jobs/a", "sys/fs/cgroup/jobs/a/cpu.max": "300000 100000",
      "sys/fs/cgroup/cpu.max": "max 100000"}, 3),  # the process's own cgroup v2
    ({"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000"}, None),
    ({"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "400000", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000"}, 4),
    ({"proc/self/cgroup": "4:cpu,cpuacct:/pod/x", "sys/fs/cgroup/cpu,cpuacct/pod/x/cpu.cfs_quota_us": "50000",
      "sys/fs/cgroup/cpu,cpuacct/pod/x/cpu.cfs_period_us": "25000"}, 2),  # cgroup v1, nested
])
def test_cgroup_quota(tmp_path, files, limit):
    for relative, text in files.items():
        write(tmp_path, relative, text)
    assert cgroup_cpu_limit(tmp_path) == limit


def test_default_is_physical_cores_capped_by_the_quota_and_overridden_by_the_variable(tmp_path):
    root = machine(tmp_path, {cpu: (0, cpu // 2) for cpu in range(8)})  # 4 cores, 2 threads each
    cpus = list(range(8))
    assert default_threads(root, env={}, cpus=cpus) == 4
    assert default_threads(root, env={}, cpus=[0, 1, 2]) == 2
    write(root, "sys/fs/cgroup/cpu.max", "300000 100000")
    assert default_threads(root, env={}, cpus=cpus) == 3
    write(root, "sys/fs/cgroup/cpu.max", "800000 100000")
    assert default_threads(root, env={}, cpus=cpus) == 4  # a quota above the cores changes nothing
    assert default_threads(root, env={"RAGTUNE_THREADS": "6"}, cpus=cpus) == 6
    assert default_threads(root, env={"RAGTUNE_THREADS": "zero"}, cpus=cpus) == 4
    assert 1 <= default_threads(Path("/"), env={}) <= (os.cpu_count() or 1)  # this machine: never above its CPUs


def test_configuration_takes_the_default_and_the_variable(monkeypatch):
    monkeypatch.delenv("RAGTUNE_THREADS")
    monkeypatch.setattr("ragtune.config.default_threads", lambda: 3)
    config = RagtuneConfig.load(env={})
    assert (config.threads, config.generation.threads, config.embedder.threads) == (3, 3, 3)
    config = RagtuneConfig.load({"embedder": {"threads": 2}}, env={"RAGTUNE_THREADS": "5"})
    assert (config.threads, config.generation.threads, config.embedder.threads) == (5, 5, 2)


def test_the_suite_runs_at_the_thread_count_it_was_started_with():
    """conftest pins RAGTUNE_THREADS (one unless the caller set it), and a configuration built with ``env={}`` still
    follows it, so no test runs at the machine's default by accident."""
    pinned = int(os.environ["RAGTUNE_THREADS"])
    assert RagtuneConfig.load().threads == pinned and RagtuneConfig.load(env={}).threads == pinned


def test_apply_threads_never_loads_torch(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    apply_threads(3)
    assert "torch" not in sys.modules
    assert os.environ["OMP_NUM_THREADS"] == "3" and os.environ["OPENBLAS_NUM_THREADS"] == "3"
