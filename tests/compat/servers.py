"""Start real cachely-server and redis-server processes for the Python suites.

Each server runs on a free 127.0.0.1 port in its own temp directory; stop()
terminates it and prints its log when asked.  Run with /usr/bin/python3.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BUILDDIR = os.environ.get("CACHELY_BUILDDIR", os.getcwd())
SRCDIR = os.environ.get("CACHELY_SRCDIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CACHELY = os.path.join(BUILDDIR, "src", "cachely-server")
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ping(port, proc, timeout=30):
    """True once a PING to 127.0.0.1:port gets an answer; False when proc
    exits or timeout seconds pass first.  30 s: a restart that loads a
    13 MB AOF under ASan took over 5 s on a busy machine (test_lists j), and
    a server that dies is seen at once through proc.poll()."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64):
                    return True
        except OSError:
            time.sleep(0.02)
    return False


def terminate(proc, timeout=10):
    """SIGTERM proc if it still runs (SIGKILL after timeout seconds);
    returns its exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Server:
    def __init__(self, kind="cachely", args=(), config=None):
        self.kind = kind
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cachely-compat-")
        self.log = os.path.join(self.dir, "server.log")
        binary = CACHELY if kind == "cachely" else REDIS
        argv = [binary]
        if config:
            argv.append(config)
        argv += ["--port", str(self.port), "--bind", "127.0.0.1",
                 "--logfile", self.log, "--dir", self.dir]
        if kind == "redis":
            argv += ["--save", "", "--appendonly", "no"]
        # Both refuse DEBUG unless enabled; the suites connect from 127.0.0.1.
        argv += ["--enable-debug-command", "local"]
        argv += list(args)
        # stderr goes to the log too, so a sanitizer report is not lost.
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        if wait_ping(self.port, self.proc):
            return
        self.dump_log()
        raise RuntimeError("%s did not start on port %d" % (kind, self.port))

    def dump_log(self):
        try:
            with open(self.log) as f:
                print("---- %s log (port %d) ----" % (self.kind, self.port))
                print(f.read())
        except OSError:
            pass

    def stop(self):
        """Terminate the server; returns its exit status (0 = clean).  The
        log is printed when the status is not 0."""
        terminate(self.proc)
        if self.proc.returncode != 0:
            print("%s on port %d exited with status %d"
                  % (self.kind, self.port, self.proc.returncode))
            self.dump_log()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


class Results:
    """Counts cases and prints the closing 'N passed, M failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL %s %s" % (name, detail))

    def run(self, name, fn, *args):
        try:
            fn(*args)
            self.passed += 1
        except Exception as e:  # a failing case must not stop the suite
            import traceback
            self.failed += 1
            print("FAIL %s: %r" % (name, e))
            traceback.print_exc()

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1
