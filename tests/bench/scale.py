#!/usr/bin/env python3
"""Measures issue 9's figures with 5,000 and 20,000 recovery instances (not a test: it prints).

- emulator start to listening: `drs-failback emulator --scenario FILE` until it prints its address
- first Welcome frame (median and max of 5 starts), the demo's emulator ready (the log's "demo
  started"), instance list shown after Endpoint: `--demo --scenario FILE` in an 80x24 PTY (the
  demo's emulator is a process of its own, which reads the scenario; the wizard does not)
- filter keystroke / PageDown / End / Home: from writing the key to the first byte of the frame
- CPU while typing: the demo process's CPU over the typing phase
- RSS on the list: the wizard's own process, and the demo's emulator next to it, found by its
  lock file; and `drs-failback emulator` alone
- the same walk on the real path: the wizard without --demo pointed at an outside
  `drs-failback emulator` (--endpoint, its keys in the environment), so the list timings and
  the wizard's RSS come without the demo
- DescribeRecoveryInstances(maxResults 100): 4 processes, one keep-alive connection each, signed
  once with botocore's SigV4 (pip install botocore); throttling faults off for this run; the
  load average beside it (the machine is shared: CPU figures move with it)
- dashboard bytes/s at 80x24, rich and basic: tests/bench/dashboard_budget.py's walk

Usage: [SIZES="27 5000 20000"] [KEYS=200] tests/bench/scale.py [path/to/drs-failback]
       (default: a bench-release build)
"""
import http.client, json, multiprocessing, os, re, statistics, subprocess, sys, time

from ptyrun import ROOT, Scratch, Session, binary, end, rss_kib, workers
import dashboard_budget

SIZES = tuple(int(n) for n in os.environ.get("SIZES", "27 5000 20000").split())
# Keys of each kind per walk: enough that p99 is not just the slowest key (each takes ~0.1 s).
KEYS = int(os.environ.get("KEYS", "200"))
ENV = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8"}


def scenario(dirname, n, throttle=True):
    """The default scenario with generated instances added up to `n` (none matches the host)."""
    with open(os.path.join(ROOT, "assets", "demo-scenario.json")) as f:
        s = json.load(f)
    template = next(r for r in s["recovery_instances"] if r["hostname"] == "svc-11")
    for k in range(n - len(s["recovery_instances"])):
        r = json.loads(json.dumps(template))
        r["id"] = f"i-{0xb0000000000000000 + k:017x}"
        r["source_server_id"] = f"s-{0xc0000000000000000 + k:017x}"
        r["hostname"] = f"bulk-{k:05d}"
        r.pop("fqdn", None)
        r["nics"] = [{"mac": f"02:00:{k >> 16 & 255:02x}:{k >> 8 & 255:02x}:{k & 255:02x}:01",
                      "ips": ["10.99.0.1"]}]
        r.get("tags", {}).pop("Name", None)
        s["recovery_instances"].append(r)
    if not throttle:
        s["faults"]["operations"] = {}
    path = os.path.join(dirname, f"scenario-{n}-{int(throttle)}.json")
    with open(path, "w") as f:
        json.dump(s, f)
    return path, s


def emulator(exe, path):
    """Starts the emulator; returns (process, seconds to listening, endpoint)."""
    t0 = time.time()
    p = subprocess.Popen([exe, "emulator", "--scenario", path, "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    took = time.time() - t0
    endpoint = re.search(r"(http://\S+)", line).group(1)
    return p, took, endpoint


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def load_worker(args):
    endpoint, key, secret, region, seconds = args
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    host = endpoint.split("//")[1]
    body = json.dumps({"maxResults": 100})
    req = AWSRequest("POST", f"{endpoint}/DescribeRecoveryInstances", data=body,
                     headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), "drs", region).add_auth(req)
    headers = dict(req.headers.items())
    conn = http.client.HTTPConnection(host)
    lat, errors, end = [], 0, time.time() + seconds
    while time.time() < end:
        t = time.perf_counter()
        conn.request("POST", "/DescribeRecoveryInstances", body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        lat.append(time.perf_counter() - t)
        errors += r.status != 200
    return lat, errors


def emulator_load(exe, tmp, n, seconds=10):
    path, s = scenario(tmp, n, throttle=False)
    p, _, endpoint = emulator(exe, path)
    try:
        load = os.getloadavg()[0]
        c = s["credentials"][0]
        with multiprocessing.Pool(4) as pool:
            results = pool.map(load_worker, [(endpoint, c["access_key_id"],
                                              c["secret_access_key"], s["region"], seconds)] * 4)
    finally:
        end([p.pid])
    lat = [x for r, _ in results for x in r]
    errors = sum(e for _, e in results)
    return len(lat) / seconds, pct(lat, 0.99) * 1000, errors, (load + os.getloadavg()[0]) / 2


def logged(log, t0, needle, timeout=120):
    """Seconds from t0 until the log holds `needle`; None when it never does."""
    while time.time() - t0 < timeout:
        with open(log, errors="replace") as f:
            if needle in f.read():
                return time.time() - t0
        time.sleep(0.01)
    return None


def demo_args(exe, tmp, path, name):
    state = os.path.join(tmp, f"state-{name}")
    log = os.path.join(tmp, f"{name}.log")
    return [exe, "--demo", "--scenario", path, "--demo-dir", os.path.join(tmp, f"disks-{name}"),
            "--state-dir", state, "--log-file", log], state, log


def emulator_pid(state):
    """The demo's emulator serving `state` (its lock holds its pid); in builds before it ran
    apart, the demo's worker that served it."""
    try:
        with open(os.path.join(state, "emulator.lock")) as f:
            return int(f.read())
    except (OSError, ValueError):
        pids = workers(state)
        return pids[0] if pids else None


def welcome(exe, tmp, env, path, n, runs=5):
    """Seconds to the first Welcome frame and to the demo's emulator ready, over `runs` starts."""
    frames, ready = [], []
    for k in range(runs):
        args, state, log = demo_args(exe, tmp, path, f"welcome-{n}-{k}")
        t0 = time.time()
        s = Session(args, env, state)
        try:
            frames.append(s.wait_for(b"Welcome"))
            ready.append(logged(log, t0, "demo started", 30))
        finally:
            s.close()
    return frames, ready


def walk(exe, tmp, env, path, n, outside=None):
    """The demo up to the instance list, then keys on it; with `outside` (an emulator's
    endpoint and the scenario), the wizard without --demo pointed at it."""
    args, state, log = demo_args(exe, tmp, path, f"walk-{n}")
    if outside:
        endpoint, sc = outside
        key = sc["credentials"][0]
        args = [exe, "--endpoint", endpoint, "--s3-endpoint", endpoint, "--region", sc["region"],
                "--state-dir", state, "--log-file", log]
        env = {**env, "AWS_ACCESS_KEY_ID": key["access_key_id"],
               "AWS_SECRET_ACCESS_KEY": key["secret_access_key"]}
    s = Session(args, env, state)
    try:
        return keys_on_the_list(exe, s, state, log, demo=not outside)
    finally:
        s.close()


def keys_on_the_list(exe, s, state, log, demo=True):
    out = {}
    s.wait_for(b"Welcome")
    if demo:
        logged(log, s.started, "demo started", 30)
    s.pump(1)
    s.send("\r", 4.0)  # Pre-flight (its checks run)
    s.send("\r", 2.0)  # Credentials (demo keys prefilled)
    s.send("\r", 3.0)  # verified -> Endpoint
    os.write(s.fd, b"\r")  # Endpoint checked -> the instance list
    t0 = time.time()
    # The blank between the words may be skipped by any cursor move (CUP or CUF).
    out["list"] = s.wait_for(re.compile(rb"rows(?:\x1b\[[\d;]*[HC]| )1-"))
    with open(exe, "rb") as f:
        paged = b"recovery instances listed" in f.read()
    out["all"] = logged(log, t0, "recovery instances listed") if paged else None
    s.pump(2)
    cpu0, t0 = s.cpu_seconds(), time.time()
    typing = []
    for _ in range(KEYS // 2):
        for key in ("9", "\x7f"):
            typing.append(s.key_latency(key))
    out["cpu"] = (s.cpu_seconds() - cpu0) / (time.time() - t0) * 100
    out["typing"] = [t for t in typing if t is not None]
    out["load"] = os.getloadavg()[0]
    # Alternating, so each key moves the cursor and draws.
    moves = {"PageDown": [], "End": [], "Home": []}
    for _ in range(KEYS):
        for name, key in (("PageDown", "\x1b[6~"), ("End", "\x1b[F"), ("Home", "\x1b[H")):
            if (t := s.key_latency(key)) is not None:
                moves[name].append(t)
    out.update(moves)
    out["rss"] = s.rss_kib() / 1024
    pid = emulator_pid(state)
    out["emulator_rss"] = rss_kib(pid) / 1024 if pid else None
    return out


def ms(values):
    if not values:
        return "no frame"
    return (f"p50 {statistics.median(values) * 1000:.1f} ms, p95 {pct(values, 0.95) * 1000:.1f} ms, "
            f"p99 {pct(values, 0.99) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms ({len(values)} keys)")


def seconds(values):
    """Median and max of start-up times (None: never happened)."""
    if None in values or not values:
        return f"never in {values.count(None)} of {len(values)} starts"
    med = statistics.median(values)
    unit, k = ("ms", 1000) if max(values) < 1 else ("s", 1)
    return f"median {med * k:.{0 if k > 1 else 2}f} {unit}, max {max(values) * k:.{0 if k > 1 else 2}f} {unit} ({len(values)} starts)"


def main():
    exe = binary()
    with Scratch() as scratch:
        tmp, env = scratch.path, {**ENV, **scratch.env}
        for n in SIZES:
            path, _ = scenario(tmp, n)
            p, start, _ = emulator(exe, path)
            try:
                time.sleep(1)
                emu_rss = rss_kib(p.pid) / 1024
            finally:
                end([p.pid])
            frames, ready = welcome(exe, tmp, env, path, n)
            w = walk(exe, tmp, env, path, n)
            p, _, endpoint = emulator(exe, path)
            try:
                with open(path) as f:
                    real = walk(exe, tmp, env, path, f"{n}-real", (endpoint, json.load(f)))
                real["emulator_rss"] = rss_kib(p.pid) / 1024
            finally:
                end([p.pid])
            rate, p99, errors, load = emulator_load(exe, tmp, n)
            print(f"== {n} recovery instances (load average {os.getloadavg()[0]:.1f})")
            print(f"emulator start to listening     {start:.2f} s")
            print(f"first Welcome frame (--demo)    {seconds(frames)}")
            print(f"demo's emulator ready           {seconds(ready)}")
            for label, m in (("--demo", w), ("real path, outside emulator", real)):
                print(f"- {label}")
                print(f"instance list after Endpoint    {m['list']:.2f} s" if m["list"] else
                      "instance list after Endpoint    never")
                print(f"all {n} listed after Endpoint  {m['all']:.2f} s" if m["all"] is not None
                      else "all listed after Endpoint       (all at once: as above)")
                print(f"filter keystroke -> frame       {ms(m['typing'])}")
                for name in ("PageDown", "End", "Home"):
                    print(f"{name:<31} {ms(m[name])}")
                print(f"CPU while typing                {m['cpu']:.0f} % (load average {m['load']:.1f})")
                emu = f"{m['emulator_rss']:.0f} MiB" if m["emulator_rss"] else "not found"
                print(f"RSS on the list                 wizard {m['rss']:.0f} MiB, its emulator {emu}")
            print(f"RSS of `emulator` alone         {emu_rss:.0f} MiB")
            print(f"DescribeRecoveryInstances(100)  {rate:.0f} req/s, p99 {p99:.1f} ms, "
                  f"4 connections, {errors} non-200, load average {load:.1f}")
    print("== dashboard at 80x24 (default demo)")
    dashboard_budget.measure(exe, "rich", {})
    dashboard_budget.measure(exe, "basic", {"NO_COLOR": "1", "LANG": "C"})


if __name__ == "__main__":
    main()
