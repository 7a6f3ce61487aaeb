"""What the Python drivers of the integration suites share (imported by cluster_check.py, livequery_client.py,
livequery_triggers.py, openapi_check.py, reload_test.py, admin_test.py): a suite's count of passed checks and
its last line, a free loopback port, a copy of the demo configuration, plain HTTP calls, the PostgreSQL server of
scripts/postgres.sh with psql, and ending a started process by its pid."""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Suite:
    """Counts a suite's passed checks. A failed check prints `NAME FAILED: what` (or `message` with `{what}`),
    calls `on_fail(what)` (logs, stopping processes) and exits 1; with `raise_on_fail` it raises AssertionError
    instead, for a driver that collects the failure itself. With `echo` every passed check is printed to stderr."""

    def __init__(self, name, on_fail=None, message=None, raise_on_fail=False, echo=False):
        self.name, self.on_fail, self.message = name, on_fail, message or name + " FAILED: {what}"
        self.raise_on_fail, self.echo, self.passed = raise_on_fail, echo, 0

    def fail(self, what):
        print(self.message.format(what=what), file=sys.stderr)
        if self.on_fail is not None:
            self.on_fail(what)
        sys.exit(1)

    def check(self, condition, what):
        if not condition:
            if self.raise_on_fail:
                raise AssertionError(what)
            self.fail(what)
        self.passed += 1
        if self.echo:
            print(f"{self.name}: ok: {what}", file=sys.stderr)

    def done(self):
        print(f"integration {self.name}: {self.passed} passed")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_copy(prefix):
    """A mktemp folder holding copies of the repository's Config and Connectors folders."""
    work = tempfile.mkdtemp(prefix=prefix)
    shutil.copytree(os.path.join(ROOT, "Config"), os.path.join(work, "Config"))
    shutil.copytree(os.path.join(ROOT, "Connectors"), os.path.join(work, "Connectors"))
    return work


def request(method, url, body=None, headers=None, timeout=20):
    """(status, headers, raw body) of one HTTP call; an HTTP error status is an answer too."""
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wait_healthy(url, process=None, headers=None, attempts=600, step=0.1):
    """Polls GET `url` until it answers 200 (True); False once `process` has exited or after `attempts` polls."""
    for _ in range(attempts):
        try:
            if request("GET", url, headers=headers)[0] == 200:
                return True
        except (urllib.error.URLError, ConnectionError):
            pass
        if process is not None and process.poll() is not None:
            return False
        time.sleep(step)
    return False


def json_or_null(raw):
    return json.loads(raw or b"null")


def stop_process(p, sig=signal.SIGTERM, wait=30):
    """Sends `sig` to a process this suite started (by its pid) and waits; past `wait` seconds it is killed."""
    if p is None or p.poll() is not None:
        return p.returncode if p else None
    p.send_signal(sig)
    try:
        return p.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


class Postgres:
    """The CAUSEWAY_TEST_PG_* server (scripts/postgres.sh) and a database of the suite's own on it, named
    `prefix` plus random hex, which the suite creates and drops."""

    def __init__(self, suite_name, prefix, app_name=None):
        self.env = {k: os.environ.get("CAUSEWAY_TEST_PG_" + k) for k in ["HOST", "PORT", "USER", "PASSWORD", "DATABASE", "BIN"]}
        if not all(self.env[k] for k in ["HOST", "PORT", "USER", "PASSWORD", "DATABASE"]):
            print(f"{suite_name} FAILED: CAUSEWAY_TEST_PG_* is not set (scripts/postgres.sh start, then source the env file it prints)", file=sys.stderr)
            sys.exit(1)
        psql = os.path.join(self.env["BIN"] or "/usr/lib/postgresql/15/bin", "psql")
        self.psql = psql if os.path.exists(psql) else (shutil.which("psql") or psql)
        self.database = prefix + os.urandom(4).hex()
        self.app_name = app_name

    def sql(self, statement, db=None):
        """Runs one statement with psql in the suite's database (or `db`); its unaligned output, stripped."""
        env = dict(os.environ, PGPASSWORD=self.env["PASSWORD"])
        if self.app_name:
            env["PGAPPNAME"] = self.app_name
        out = subprocess.run([self.psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", self.env["HOST"], "-p", self.env["PORT"],
                              "-U", self.env["USER"], "-d", db or self.database, "-c", statement],
                             env=env, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql: {out.stderr}")
        return out.stdout.strip()

    def create_database(self, fail):
        """Creates the suite's database; `fail(what)` when it cannot."""
        try:
            self.sql(f"CREATE DATABASE {self.database}", db=self.env["DATABASE"])
        except Exception as e:  # noqa: BLE001
            fail(f"cannot create database {self.database}: {e}")

    def password_file(self, folder):
        """The server's password in `folder`/pg-password, readable by its owner only (a connector's passwordFile)."""
        secret = os.path.join(folder, "pg-password")
        with open(secret, "w") as f:
            f.write(self.env["PASSWORD"] + "\n")
        os.chmod(secret, 0o600)
        return secret

    def drop_database(self, suite_name):
        try:
            self.sql(f"DROP DATABASE IF EXISTS {self.database}", db=self.env["DATABASE"])
        except Exception as e:  # noqa: BLE001 -- cleanup reports, never masks the result
            print(f"{suite_name}: could not drop {self.database}: {e}", file=sys.stderr)
