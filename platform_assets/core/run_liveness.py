"""Runs executed inside a command's own process (`platform-assets transit export-... ` without
`--queue`) and what happens when that process dies (issue 18 item 11).

Dagster's run monitoring covers runs the daemon launched (through the run launcher's worker
health check and `dagster/max_runtime`), but an in-process run has no launcher behind it: killed
with -9, it stays STARTED forever and keeps its slot in the run queue (`max_concurrent_runs`, tag
limits). So such runs carry who runs them (host, boot, pid and the process's start time) and a
heartbeat tag the process refreshes; `fail_dead_runs` marks failed every one whose process is gone
(same machine: the pid is checked at once; another machine: the heartbeat is too old), which frees
its slots and sends its failure email. The `dead_run_detection` sensor runs it in the daemon, and
the command runs it before starting its own run.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)
from dagster._core.utils import make_new_run_id

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.tags import RUN_HEARTBEAT_TAG, RUN_OWNER_TAG

# Statuses a process-owned run can be left in when the process is killed.
_LIVE_STATUSES = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.NOT_STARTED]
# Another machine's run is dead once this many heartbeats were missed.
MISSED_HEARTBEATS = 4


@dataclass(frozen=True)
class ProcessOwner:
    """Who executes a run: the machine (hostname, and as `boot` the kernel's boot id, so pids after
    a reboot never match, and the pid namespace, so another container's pids are never checked)
    and the process (pid and its start time in clock ticks, so a reused pid never matches)."""

    host: str
    boot: str
    pid: int
    started: str

    def tag(self) -> str:
        return f"{self.host}|{self.boot}|{self.pid}|{self.started}"

    @staticmethod
    def parse(value: str) -> ProcessOwner | None:
        parts = value.split("|")
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        return ProcessOwner(parts[0], parts[1], int(parts[2]), parts[3])


def _boot_id() -> str:
    """The kernel's boot id and this process's pid namespace: two containers that share a hostname
    (and a kernel) but not their pids never judge each other's pids."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    try:
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        namespace = ""
    return f"{boot}/{namespace}"


def _kernel_boot(boot: str) -> str:
    return boot.split("/", 1)[0]


def _process_state(pid: int) -> tuple[str, str] | None:
    """(state letter, start time) of a process from /proc, or None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return ("?", "")
    # The command name (field 2) may hold spaces and parentheses: fields are counted after its ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def this_process() -> ProcessOwner:
    state = _process_state(os.getpid())
    return ProcessOwner(socket.gethostname(), _boot_id(), os.getpid(), state[1] if state else "")


def _process_alive(owner: ProcessOwner) -> bool:
    """Whether the process named by `owner` (on this machine) still runs; a zombie does not."""
    if not Path("/proc").is_dir():  # no procfs: ask the kernel whether the pid exists at all
        try:
            os.kill(owner.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    state = _process_state(owner.pid)
    if state is None or state[0] in ("Z", "X"):
        return False
    return not owner.started or state[1] in ("", owner.started)


def _rebooted(owner: ProcessOwner, here: ProcessOwner) -> bool:
    """Whether the kernel `owner` ran on has rebooted since (so every process of it is gone)."""
    return bool(_kernel_boot(owner.boot)) and bool(_kernel_boot(here.boot)) and _kernel_boot(owner.boot) != _kernel_boot(here.boot)


def owned_by_dead_process(owner: ProcessOwner) -> bool:
    """Whether `owner` is a process of this machine that is gone (another machine's is never
    judged: its folders are its own to clean)."""
    here = this_process()
    if owner.host != here.host:
        return False
    if _rebooted(owner, here):
        return True
    if owner.boot != here.boot:  # another pid namespace (container) on this machine: not ours to judge
        return False
    return not _process_alive(owner)


def owner_tags(heartbeat_at: float | None = None) -> dict[str, str]:
    """The tags of a run this process executes itself."""
    return {RUN_OWNER_TAG: this_process().tag(), RUN_HEARTBEAT_TAG: str(int(heartbeat_at or time.time()))}


def dead_reason(tags: Mapping[str, str], heartbeat_seconds: int, now: float, here: ProcessOwner) -> str | None:
    """Why the process executing a run with these tags is gone, or None while it may still run."""
    owner = ProcessOwner.parse(tags.get(RUN_OWNER_TAG, ""))
    if owner is None:
        return None
    if owner.host == here.host and owner.boot == here.boot:
        if _process_alive(owner):
            return None
        return f"its process {owner.pid} on {owner.host} is gone (killed or crashed)"
    if owner.host == here.host and _rebooted(owner, here):
        return f"{owner.host} restarted since its process {owner.pid} started it"
    beat = tags.get(RUN_HEARTBEAT_TAG, "")
    last = float(beat) if beat.isdigit() else 0.0
    if now - last > MISSED_HEARTBEATS * heartbeat_seconds:
        return (f"no heartbeat from its process {owner.pid} on {owner.host} for {int(now - last)} s "
                f"(expected every {heartbeat_seconds} s)")
    return None


def fail_dead_runs(instance: DagsterInstance, heartbeat_seconds: int, now: float | None = None) -> list[str]:
    """Mark failed every unfinished process-owned run whose process is gone; return their run ids."""
    now = time.time() if now is None else now
    here = this_process()
    failed: list[str] = []
    for record in instance.get_run_records(RunsFilter(statuses=_LIVE_STATUSES)):
        run = record.dagster_run
        if RUN_OWNER_TAG not in run.tags:
            continue
        reason = dead_reason(run.tags, heartbeat_seconds, now, here)
        if reason is None:
            continue
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.is_finished:
            continue
        instance.report_run_failed(current, f"Run {run.run_id} marked failed: {reason}.")
        failed.append(run.run_id)
    return failed


def execute_owned_run(
    execute: Callable[..., Any], instance: DagsterInstance, heartbeat_seconds: int, tags: Mapping[str, str], **kwargs: Any
) -> Any:
    """Call `execute` (a job's `execute_in_process`) on `instance` with owner tags and a fresh run
    id, refreshing the heartbeat tag every `heartbeat_seconds` from a thread while it runs."""
    fail_dead_runs(instance, heartbeat_seconds)  # free what earlier killed commands left behind
    run_id = make_new_run_id()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(heartbeat_seconds):
            try:
                if instance.get_run_by_id(run_id) is not None:
                    instance.add_run_tags(run_id, {RUN_HEARTBEAT_TAG: str(int(time.time()))})
            except Exception:  # a missed beat is harmless; the next one (or the pid check) decides
                continue

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id[:8]}", daemon=True)
    thread.start()
    try:
        return execute(instance=instance, run_id=run_id, tags={**tags, **owner_tags()}, **kwargs)
    finally:
        stop.set()
        thread.join()


@sensor(
    name="dead_run_detection",
    description="Mark failed the runs executed by a command's own process (CLI) when that process is "
    "gone, so they free their run-queue slots and their failure is reported.",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)
def dead_run_detection(context: SensorEvaluationContext, platform: PlatformInfo) -> SkipReason:
    failed = fail_dead_runs(context.instance, int(platform.run_heartbeat_seconds))
    if failed:
        context.log.info(f"marked failed (process gone): {', '.join(failed)}")
        return SkipReason(f"marked {len(failed)} run(s) failed whose process is gone: {', '.join(failed)}")
    return SkipReason("no run left behind by a dead process")
