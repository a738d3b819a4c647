"""What the bench scripts share: the binary to measure and a program driven in an 80x24 PTY."""
import fcntl, os, pty, re, select, struct, subprocess, sys, termios, time

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


class Session:
    def __init__(self, args, env):
        self.started = time.time()
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
        os.write(self.fd, keys.encode())
        t0 = time.time()
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
        try:
            os.kill(self.pid, 15)
            os.waitpid(self.pid, 0)
        except OSError:
            pass
