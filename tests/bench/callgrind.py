#!/usr/bin/env python3
"""Instruction counts (valgrind's callgrind), repeatable where timings on a shared machine are
not: per DescribeRecoveryInstances(100) request of the emulator, and per key on the wizard's
20,000-row instance list. Not a test: it prints. Needs valgrind (Debian) and botocore.

Usage: [SIZE=20000] tests/bench/callgrind.py emulator|filter|page [path/to/drs-failback]
       (default: a bench-release build, which keeps its function names for callgrind_annotate)
Each run leaves only callgrind's output, /tmp/drs-failback-callgrind.<what>.out.1 (named at the
end), for `callgrind_annotate --inclusive=yes`; what it started is ended, its scratch removed.
"""
import http.client, json, os, re, subprocess, sys, time

from ptyrun import Scratch, Session, end
import scale

WHAT = sys.argv.pop(1) if len(sys.argv) > 1 else "emulator"
SIZE = int(os.environ.get("SIZE", "20000"))
exe = scale.binary()
out = f"/tmp/drs-failback-callgrind.{WHAT}.out"
valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


def control(pid, *args):
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def total():
    with open(out + ".1") as f:
        return int(re.search(r"^totals: (\d+)", f.read(), re.M).group(1))


def logged(log, needle, timeout=600):
    end = time.time() + timeout
    while time.time() < end:
        with open(log, errors="replace") as f:
            if needle in f.read():
                return
        time.sleep(0.2)
    sys.exit(f"the log never said {needle!r}")


if os.path.exists(out + ".1"):
    os.remove(out + ".1")
with Scratch() as scratch:
    tmp, state = scratch.path, os.path.join(scratch.path, "state")
    if WHAT == "emulator":
        path, s = scale.scenario(tmp, SIZE, throttle=False)
        p = subprocess.Popen(valgrind + [exe, "emulator", "--scenario", path, "--listen",
                                         "127.0.0.1:0"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=scratch.env)
        endpoint = re.search(r"(http://\S+)", p.stdout.readline()).group(1)
        c = s["credentials"][0]
        args = (endpoint, c["access_key_id"], c["secret_access_key"], s["region"])
        scale.load_worker((*args, 1))  # warm: connections, caches
        n = 50
        control(p.pid, "-i", "on")
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        body = json.dumps({"maxResults": 100})
        req = AWSRequest("POST", f"{endpoint}/DescribeRecoveryInstances", data=body,
                         headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(args[1], args[2]), "drs", args[3]).add_auth(req)
        conn = http.client.HTTPConnection(endpoint.split("//")[1], timeout=600)
        for _ in range(n):
            conn.request("POST", "/DescribeRecoveryInstances", body=body, headers=dict(req.headers.items()))
            r = conn.getresponse()
            r.read()
            assert r.status == 200, r.status
        control(p.pid, "-i", "off")
        control(p.pid, "-d")
        end([p.pid])
        unit = "request"
    else:
        path, _ = scale.scenario(tmp, SIZE)
        log = os.path.join(tmp, "wizard.log")
        s = Session(["/usr/bin/valgrind"] + valgrind[1:] + [
            exe, "--demo", "--scenario", path, "--demo-dir", os.path.join(tmp, "disks"),
            "--state-dir", state, "--log-file", log], {**scale.ENV, **scratch.env}, state)
        s.wait_for(b"Welcome", 300)
        logged(log, "demo started")
        s.pump(2)
        # Welcome -> Pre-flight -> Credentials -> Endpoint -> the list (as scale.py walks it).
        for settle in (5, 5, 10, 5):
            s.send("\r", settle)
        logged(log, "recovery instances listed")
        s.pump(5)
        keys = [("9", "\x7f")] * 25 if WHAT == "filter" else [("\x1b[6~", "\x1b[F", "\x1b[H")] * 10
        n = sum(len(k) for k in keys)
        control(s.pid, "-i", "on")
        for group in keys:
            for k in group:
                s.key_latency(k, quiet=0.3)
        control(s.pid, "-i", "off")
        control(s.pid, "-d")
        s.close()
        unit = "key"
print(f"{WHAT} at {SIZE} instances: {total() / n / 1e6:.2f} M instructions per {unit} "
      f"({n} {unit}s; {out}.1)")
