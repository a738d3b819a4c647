"""What the bench scripts share: the binary to measure, a program driven in an 80x24 PTY, and
a scratch directory whose processes and files are all gone when the bench ends."""
import ctypes, fcntl, glob, json, os, pty, re, select, shutil, signal, struct, subprocess, sys
import tempfile, termios, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TICKS = os.sysconf("SC_CLK_TCK")


def binary():
    """argv[1], or a build with the bench-release profile (release code without the LTO link,
    which takes over ten minutes on a shared 2-core machine)."""
    if len(sys.argv) > 1:
        return sys.argv[1]
    subprocess.run(["cargo", "build", "--profile", "bench-release", "--quiet"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "bench-release", "drs-failback")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _parents():
    """pid -> parent pid of every process now."""
    out = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                out[int(stat.split("/")[2])] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return out


def descendants(root):
    parents, found, todo = _parents(), [], [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        found += kids
        todo += kids
    return found


def alive(pid):
    """Running, not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def reap(pids):
    """Waits for those of `pids` that are this process's children (orphans adopted as
    subreaper too) and have ended."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def end(pids, patience=5.0):
    """SIGTERM, then SIGKILL for what is still running after `patience` seconds; reaped."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.time() + patience
        while time.time() < deadline and any(alive(p) for p in pids):
            reap(pids)
            time.sleep(0.05)
        reap(pids)
        pids = [p for p in pids if alive(p)]
        if not pids:
            return


def workers(state_dir):
    """What serves `state_dir` beyond its wizards: the failback worker holding its lock (which
    names it) and the demo's emulator holding `emulator.lock` (which holds its pid)."""
    pids = set()
    try:
        with open(os.path.join(state_dir, "lock")) as f:
            pids.add(int(json.load(f)["worker_pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with open(os.path.join(state_dir, "emulator.lock")) as f:
            pids.add(int(f.read().strip()))
    except (OSError, ValueError):
        pass
    return sorted(pids)


def using(path):
    """Processes whose command line names `path` (what a bench left running)."""
    found = []
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as f:
                if path.encode() in f.read():
                    found.append(int(cmdline.split("/")[2]))
        except OSError:
            pass
    return [p for p in found if p != os.getpid() and alive(p)]


class Scratch:
    """A bench's temporary directory, also the TMPDIR of every process it starts (their logs
    land there, and valgrind's pipes that callgrind_control looks for). On
    leaving, even by an error, Ctrl-C or SIGTERM, it ends every process the bench started: the
    workers named in state directories, and, since this process is their subreaper, every
    descendant that left its wizard's session. Then it checks that nothing naming the directory
    still runs and removes it."""

    def __enter__(self):
        # PR_SET_CHILD_SUBREAPER: orphans are re-parented here, not to init.
        if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.path = tempfile.mkdtemp(prefix="drs-failback-bench-")
        self.tmpdir = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = self.path
        self.env = dict(os.environ)
        return self

    def __exit__(self, *_):
        end(descendants(os.getpid()))
        left = using(self.path)
        if left:
            end(left)
            print(f"ended {len(left)} leftover processes naming {self.path}: {left}",
                  file=sys.stderr)
        shutil.rmtree(self.path, ignore_errors=True)
        if self.tmpdir is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = self.tmpdir
        return False


class Session:
    def __init__(self, args, env, state_dir=None):
        """`state_dir`: the wizard's --state-dir, whose workers `close` ends."""
        self.started = time.time()
        self.state_dir = state_dir
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(args[0], args, env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.pid, self.fd, self.bytes = pid, fd, 0
        self.seen = b""

    def pump(self, seconds):
        """Reads for `seconds`; returns the bytes the program wrote meanwhile."""
        end, got = time.time() + seconds, 0
        self.seen = b""
        while (left := end - time.time()) > 0:
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    break
                got += len(chunk)
                self.seen += chunk
        self.bytes += got
        return got

    def wait_for(self, needle, timeout=120):
        """Reads until `needle` (bytes, or a regex over them) shows in the output; returns the
        time it took, or None. ratatui skips unchanged blanks: words may be split by cursor moves."""
        found = needle.search if isinstance(needle, re.Pattern) else lambda b: needle in b
        t0, buf = time.time(), b""
        while time.time() - t0 < timeout:
            r, _, _ = select.select([self.fd], [], [], 0.5)
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return None
                self.bytes += len(chunk)
                buf += chunk
                if found(buf):
                    return time.time() - t0
        return None

    def key_latency(self, keys, quiet=0.05):
        """Writes `keys`; returns the seconds to the first byte of the answering frame, then
        drains the frame (until `quiet` seconds pass without output). None when nothing changed
        on screen (a frame that changes no cell writes nothing)."""
        self.pump(quiet)  # what an earlier frame or page left unread
        # The clock starts before the write: the wizard woken by it may answer before this
        # process runs again, which read after the write gave as 0.0 ms.
        t0 = time.time()
        os.write(self.fd, keys.encode())
        first = None
        while True:
            r, _, _ = select.select([self.fd], [], [], quiet if first else 2.0)
            if not r:
                return first
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return first
            self.bytes += len(chunk)
            if first is None:
                first = time.time() - t0

    def send(self, text, settle=1.5):
        os.write(self.fd, text.encode())
        self.pump(settle)

    def cpu_seconds(self):
        return cpu_seconds(self.pid)

    def rss_kib(self):
        return rss_kib(self.pid)

    def close(self):
        """Ends the wizard, then the workers it started (a worker with a failback to run
        outlives its wizard, on purpose) and their children."""
        end([self.pid])
        try:
            os.close(self.fd)
        except OSError:
            pass
        if self.state_dir:
            pids = workers(self.state_dir)
            end([d for p in pids for d in descendants(p)] + pids)
