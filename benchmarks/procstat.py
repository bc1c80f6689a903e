"""CPU time and memory of a process, read from /proc (Linux only)."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of every thread of ``pid`` so far, in seconds.

    Sums /proc/PID/task/*/schedstat (nanoseconds on CPU) when the kernel has it, else falls back
    to utime + stime from /proc/PID/stat (clock ticks, 10 ms resolution).
    """
    total_ns = 0
    found = False
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            try:
                with open(f"{task.path}/schedstat", "rb") as f:
                    total_ns += int(f.read().split()[0])
                    found = True
            except (FileNotFoundError, ProcessLookupError):
                continue  # a thread that just ended
    except FileNotFoundError:
        return 0.0
    if found:
        return total_ns / 1e9
    return stat_cpu_seconds(pid)


def stat_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` from /proc/PID/stat, in seconds."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = raw[raw.rfind(")") + 2 :].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_kb(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def hwm_kb(pid: int) -> int:
    """Peak resident set size of ``pid`` in KiB (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = values[:7]
    steal = values[7] if len(values) > 7 else 0
    return (user + nice + system + irq + softirq + steal) / _TICKS, steal / _TICKS


_PF_KTHREAD = 0x00200000


def others_cpu(exclude: set[int]) -> float:
    """CPU seconds so far of every user-space process not in ``exclude`` (other tenants).

    Kernel threads are left out: at high message rates the kernel's own network work (softirq,
    ksoftirqd) is ours, not a neighbour's.
    """
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split()
        if int(fields[6]) & _PF_KTHREAD:  # field 9: flags
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICKS


class Meter:
    """CPU of our processes and of everything else on the machine over a window.

    ``foreign`` is what disturbs a measurement: CPU used by other tenants' processes plus
    steal (time the hypervisor gave our virtual CPUs to someone else). ``system_other`` is the
    rest of the machine's busy time (kernel work not charged to a process, mostly our own
    network traffic), reported but not counted as disturbance.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {**pids, "orchestrator": os.getpid()}
        self._ours: dict[str, float] = {}
        self._machine = (0.0, 0.0)
        self._others = 0.0
        self._t = 0.0

    def start(self) -> None:
        import time

        self._ours = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._others = others_cpu(set(self.pids.values()))
        self._machine = machine_cpu()
        self._t = time.monotonic()

    def stop(self) -> dict[str, float]:
        """Seconds of CPU per process name, plus ``foreign``, ``steal``, ``system_other``,
        ``wall``."""
        import time

        wall = time.monotonic() - self._t
        ours = {
            name: max(0.0, cpu_seconds(pid) - self._ours.get(name, 0.0))
            for name, pid in self.pids.items()
        }
        busy, steal = machine_cpu()
        others = max(0.0, others_cpu(set(self.pids.values())) - self._others)
        steal -= self._machine[1]
        rest = busy - self._machine[0] - sum(ours.values())
        ours["foreign"] = others + steal
        ours["steal"] = steal
        ours["system_other"] = max(0.0, rest - others - steal)
        ours["wall"] = wall
        return ours
