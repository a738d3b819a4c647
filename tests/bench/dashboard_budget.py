#!/usr/bin/env python3
"""Measures the design budgets of the live dashboard at 80x24 (not a test: it prints figures).

Budgets (the wizard's): under 1 KiB/s written to the terminal, under 1% of one core, under
30 MiB RSS, and nothing written at all while an idle screen has nothing changing. The worker,
the replication software (the stand-in's processes) and the demo's emulator are measured over
the same 20 s of replication and printed beside it (no budget).

Usage: tests/bench/dashboard_budget.py [path/to/drs-failback]   (default: a bench-release build)
"""
import json, os, sys, time

from ptyrun import ROOT, Scratch, Session, binary, cpu_seconds, rss_kib, workers


def scenario(dirname):
    """The default scenario, slowed so the dashboard stays up for the whole measurement."""
    with open(os.path.join(ROOT, "assets", "demo-scenario.json")) as f:
        s = json.load(f)
    for ri in s["recovery_instances"]:
        ri["rate_per_second"] = "16MiB"
        for v in ri["volumes"]:
            v["used"] = "64MiB"
    path = os.path.join(dirname, "scenario.json")
    with open(path, "w") as f:
        json.dump(s, f)
    return path


def measure(exe, label, extra_env):
    with Scratch() as scratch:
        tmp = scratch.path
        env = {**scratch.env, "TERM": "xterm-256color", "LANG": "C.UTF-8", **extra_env}
        # A state directory of its own: never another demo's worker. Its worker runs the
        # failback on after the wizard ends: `close` ends it.
        state = os.path.join(tmp, "state")
        s = Session([exe, "--demo", "--scenario", scenario(tmp), "--demo-dir", tmp,
                     "--state-dir", state], env, state)
        try:
            return walk(s, label)
        finally:
            s.close()


def walk(s, label):
    """Up to the dashboard; what it writes there."""
    s.pump(3)
    idle = s.pump(5)
    # Welcome -> Pre-flight -> Credentials (verify) -> Endpoint (check) -> Instance ->
    # Mapping -> Review.
    s.send("\r", 4.0)
    for keys in ["\r", "\r", "\r", "\r", "\r"]:
        s.send(keys, 2.0)
    s.send("OVERWRITE\r", 5.0)
    # ratatui writes only changed cells: look for words that appear only on the dashboard.
    if not any(w in s.seen for w in (b"INITIATING", b"INITIAL_SYNC", b"Log")):
        sys.exit(f"{label}: the dashboard did not show up; the walk-through keys went astray")
    others = processes(s.state_dir)
    cpu0, t0 = s.cpu_seconds(), time.time()
    others0 = {name: total_cpu(pids) for name, pids in others.items()}
    written = s.pump(20)
    elapsed = time.time() - t0
    cpu = (s.cpu_seconds() - cpu0) / elapsed * 100
    rss = s.rss_kib() / 1024
    rate = written / elapsed
    print(f"{label:<22} idle Welcome: {idle} B in 5 s | dashboard: "
          f"{rate:.0f} B/s written, {cpu:.2f}% of a core, {rss:.1f} MiB RSS")
    for name, pids in others.items():
        used = (total_cpu(pids) - others0[name]) / elapsed * 100
        mib = sum(rss_of(p) for p in pids) / 1024
        print(f"{'':<22} {name}: {used:.2f}% of a core, {mib:.1f} MiB RSS ({len(pids)} processes)")
    return rate


def processes(state):
    """The worker holding the state directory's lock, the replication software's processes
    (those in the process group its record names) and the demo's emulator."""
    out = {}
    try:
        with open(os.path.join(state, "lock")) as f:
            out["worker"] = [int(json.load(f)["worker_pid"])]
    except (OSError, ValueError, KeyError):
        sys.exit("no worker holds the lock: the failback did not start")
    try:
        with open(os.path.join(state, "replication-software.json")) as f:
            pgid = json.load(f)["pgid"]
        out["replication software"] = [p for p in all_pids() if group_of(p) == pgid]
    except (OSError, ValueError, KeyError):
        pass
    out["emulator"] = [p for p in workers(state) if p not in out["worker"]]
    return out


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def group_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[2])
    except (OSError, ValueError, IndexError):
        return None


def total_cpu(pids):
    total = 0.0
    for p in pids:
        try:
            total += cpu_seconds(p)
        except OSError:
            pass
    return total


def rss_of(pid):
    try:
        return rss_kib(pid)
    except OSError:
        return 0


if __name__ == "__main__":
    exe = binary()
    print("budgets: < 300 B/s (a 9,600-baud line carries 960), < 1% of a core, < 30 MiB RSS, 0 B when idle")
    measure(exe, "unicode + colour", {})
    measure(exe, "ascii + NO_COLOR", {"NO_COLOR": "1", "LANG": "C"})
