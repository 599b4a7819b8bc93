"""A real Samba AD domain controller for tests and benches: provision once, copy, start, stop.

No pytest in here, so benches can use it too; the facts behind each step are in
/work/shared/notes/samba-ad.md. A running DC holds an flock on `<cache>/ip-<address>.lock`, so
concurrent test sessions pick different loopback addresses, and a later session stops a DC whose
owner died without tearing down (the lock file records samba's pid).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import ldap3

REALM, DOMAIN, BASE_DN = "CORP.EXAMPLE.TEST", "CORP", "DC=corp,DC=example,DC=test"
UPN_SUFFIX, TLS_NAME = "corp.example.test", "DC1.corp.example.test"
ADMIN_PASSWORD = "Enlist-Adm1n-Pa55"
CACHE_ROOT = Path(os.environ.get("ENLIST_SAMBA_CACHE", "/var/tmp/enlist-samba"))
READY_MARK = ".enlist-base-ready"
TREE_DELETE = "1.2.840.113556.1.4.805"
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_RUNNING: set[DC] = set()
# Runs beside each DC: when the process that started the DC dies, even by SIGKILL (where no
# teardown or atexit runs), it is reparented, notices, and stops samba's process group.
_WATCHDOG = """
import os, signal, sys, time
owner, group = int(sys.argv[1]), int(sys.argv[2])
try:
    while os.getppid() == owner:
        os.killpg(group, 0)
        time.sleep(0.5)
    os.killpg(group, signal.SIGTERM)
    for _ in range(50):
        time.sleep(0.1)
        os.killpg(group, 0)
    os.killpg(group, signal.SIGKILL)
except ProcessLookupError:
    pass
"""


class SambaNotAvailable(RuntimeError):
    """Samba is not installed here, or cannot provision or start."""


def _tool(name: str) -> str:
    """The full path of a Samba program, looking in sbin folders missing from a user's PATH."""
    path = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN))
    if not path:
        raise SambaNotAvailable(
            f"'{name}' was not found: Samba is not installed. Install it with: apt-get install -y "
            "--no-install-recommends samba samba-dsdb-modules samba-vfs-modules samba-ad-provision")
    return path


def samba_version() -> str:
    """The installed Samba version, e.g. '4.17.12-Debian'."""
    out = subprocess.run([_tool("samba"), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip().removeprefix("Version ").replace("/", "_")


def ensure_base(cache_root: Path = CACHE_ROOT) -> Path:
    """Provision the base DC once (provision, start so TLS keys exist, stop); return its folder."""
    base = cache_root / f"base-{samba_version()}"
    needed = (READY_MARK, "etc/smb.conf", "private/sam.ldb", "private/tls/ca.pem")
    if all((base / name).exists() for name in needed):
        return base
    cache_root.mkdir(parents=True, exist_ok=True)
    with open(cache_root / ".provision.lock", "a") as lock:  # parallel sessions provision once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all((base / name).exists() for name in needed):
            return base
        staging = cache_root / f".{base.name}.{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        _provision(staging)
        _warm_up(staging, cache_root)
        shutil.rmtree(base, ignore_errors=True)
        staging.rename(base)
        _rewrite_conf(base, str(staging), None)
        (base / READY_MARK).write_text(samba_version() + "\n")
    return base


def _provision(target: Path) -> None:
    """samba-tool domain provision into target: empty config, no DNS, loopback, LDAP only."""
    (target / "log").mkdir(parents=True)
    (target / "empty.conf").write_text("")
    options = {
        "netbios name": "DC1", "interfaces": "lo", "bind interfaces only": "yes",
        "pid directory": f"{target}/run", "winbindd socket directory": f"{target}/run/winbindd",
        "ncalrpc dir": f"{target}/run/ncalrpc", "log file": f"{target}/log/samba.log",
        "server services": "ldap, cldap",
    }
    command = [
        _tool("samba-tool"), "domain", "provision", "-s", str(target / "empty.conf"),
        f"--targetdir={target}", f"--realm={REALM}", f"--domain={DOMAIN}", "--server-role=dc",
        "--dns-backend=NONE", "--use-rfc2307", f"--adminpass={ADMIN_PASSWORD}",
        "--host-ip=127.0.0.1", *(f"--option={k} = {v}" for k, v in options.items()),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SambaNotAvailable(f"samba-tool domain provision failed:\n{done.stderr[-3000:]}")


def _warm_up(staging: Path, cache_root: Path) -> None:
    """Start the fresh DC once so it writes its TLS keys, then stop it; smb.conf is restored."""
    original = (staging / "etc/smb.conf").read_text()
    dc = DC(staging, *_claim_address(None, cache_root))
    try:
        _rewrite_conf(staging, None, dc.ip)
        dc.start()
    finally:
        dc.destroy(remove=False)
        (staging / "etc/smb.conf").write_text(original)


def _rewrite_conf(workdir: Path, old_path: str | None, ip: str | None) -> None:
    """Point smb.conf (the only file holding the path) at workdir and at the listening address."""
    conf = workdir / "etc/smb.conf"
    text = conf.read_text()
    if old_path:
        text = text.replace(old_path, str(workdir))
    if ip and ip != "127.0.0.1":
        text = text.replace("interfaces = lo\n", f"interfaces = {ip}/8\n")
    conf.write_text(text)


def start_dc(workdir: Path, ip: str | None = "127.0.0.1", cache_root: Path = CACHE_ROOT) -> DC:
    """Copy the base DC into workdir/dc and start it on ip (None: the first free 127.0.0.x)."""
    base = ensure_base(cache_root)
    address, lock = _claim_address(ip, cache_root)
    target = Path(workdir) / "dc"
    dc = DC(target, address, lock)
    try:
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", str(base), str(target)], check=True)
        _rewrite_conf(target, str(base), address)
        dc.start()
    except BaseException:
        dc.destroy()
        raise
    return dc


def _claim_address(ip: str | None, cache_root: Path) -> tuple[str, int]:
    """Lock a loopback address for one DC, stopping a DC that a dead session left there."""
    cache_root.mkdir(parents=True, exist_ok=True)
    candidates = [ip] if ip else [f"127.0.0.{n}" for n in range(2, 255)]
    for address in candidates:
        fd = os.open(cache_root / f"ip-{address}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        orphan = os.pread(fd, 32, 0).decode(errors="ignore").strip()
        if orphan.isdigit() and _is_samba(int(orphan)):
            _kill_group(int(orphan), timeout=10.0)
        os.ftruncate(fd, 0)
        if _ports_free(address):
            return address, fd
        os.close(fd)
    raise SambaNotAvailable(f"no free loopback address for a test DC (tried {candidates[0]}"
                            f"{'...' if len(candidates) > 1 else ''}): another DC holds it")


def _ports_free(address: str) -> bool:
    """True when nothing listens on the LDAP ports of address."""
    for port in (389, 636):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except OSError:
                return False
    return True


def _proc_stat(pid_dir: Path) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state first); [] when gone."""
    try:
        return (pid_dir / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _is_samba(pid: int) -> bool:
    """True when pid is a live (not zombie) samba process."""
    stat = _proc_stat(Path(f"/proc/{pid}"))
    try:
        return bool(stat) and stat[0] != "Z" and os.readlink(f"/proc/{pid}/exe").endswith("/samba")
    except OSError:
        return False


def _kill_group(pid: int, timeout: float) -> None:
    """SIGTERM samba's process group (samba -D calls setsid), then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stats = (_proc_stat(p) for p in Path("/proc").glob("[0-9]*"))
            if not any(s and s[2] == str(pid) and s[0] != "Z" for s in stats):
                try:  # collect the exit status when we are samba's subreaper: no zombie stays
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                return
            time.sleep(0.05)


@dataclass(eq=False)
class DC:
    """One running Samba AD DC in its own folder, reachable over LDAPS on a loopback address."""

    workdir: Path
    ip: str
    lock_fd: int | None = None
    admin_password: str = ADMIN_PASSWORD
    base_dn: str = BASE_DN
    tls_name: str = TLS_NAME
    upn_suffix: str = UPN_SUFFIX
    pid: int | None = field(default=None, init=False)
    watchdog: subprocess.Popen | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.url = f"ldaps://{self.ip}:636"
        self.admin_dn = f"CN=Administrator,CN=Users,{self.base_dn}"
        self.admin_upn = f"Administrator@{self.upn_suffix}"
        self.ca_file = self.workdir / "private/tls/ca.pem"

    @property
    def ca_pem(self) -> str:
        """The CA certificate that signed this DC's TLS certificate, as PEM text."""
        return self.ca_file.read_text()

    def start(self, timeout: float = 30.0) -> None:
        """Start samba -D and return once a verified LDAPS bind as Administrator succeeds."""
        done = subprocess.run([_tool("samba"), "-D", "-s", str(self.workdir / "etc/smb.conf")],
                              capture_output=True, text=True, close_fds=True)
        if done.returncode != 0:
            raise SambaNotAvailable(f"samba did not start: {done.stderr.strip()}\n{self._log()}")
        _RUNNING.add(self)
        deadline = time.monotonic() + timeout
        while True:  # a real LDAPS bind, with a new Server each time (a failed one waits 5 s)
            self.pid = self.pid or self._read_pid()
            try:
                self.admin_connection().unbind()
                break
            except ldap3.core.exceptions.LDAPException as error:
                if (self.pid and not _is_samba(self.pid)) or time.monotonic() > deadline:
                    log = self._log()
                    self.stop()
                    raise SambaNotAvailable(f"DC at {self.url} not ready: {error}\n{log}") from error
                time.sleep(0.1)
        if self.lock_fd is not None:  # so a later session can stop this DC if we die
            os.ftruncate(self.lock_fd, 0)
            os.pwrite(self.lock_fd, f"{self.pid}\n".encode(), 0)
        self.watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.pid)],
            start_new_session=True, stdin=subprocess.DEVNULL, close_fds=True)

    def _read_pid(self) -> int | None:
        """The master samba pid from run/samba.pid, once samba wrote it."""
        pid_file = self.workdir / "run/samba.pid"
        text = pid_file.read_text().strip() if pid_file.exists() else ""
        return int(text) if text.isdigit() else None

    def _log(self) -> str:
        """The tail of samba's log, for error messages."""
        log = self.workdir / "log/samba.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no samba log)"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop samba (SIGTERM to its process group, SIGKILL after timeout); safe to repeat."""
        pid = self.pid or self._read_pid()
        if pid and _is_samba(pid):
            _kill_group(pid, timeout)
        self.pid = None
        (self.workdir / "run/samba.pid").unlink(missing_ok=True)
        if self.watchdog:
            self.watchdog.kill()
            self.watchdog.wait()
            self.watchdog = None
        _RUNNING.discard(self)

    def destroy(self, remove: bool = True) -> None:
        """Stop the DC, release its address and (by default) delete its folder."""
        self.stop()
        if self.lock_fd is not None:
            os.ftruncate(self.lock_fd, 0)
            os.close(self.lock_fd)
            self.lock_fd = None
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def tls(self) -> ldap3.Tls:
        """A Tls that verifies this DC's certificate against its CA and its DNS name."""
        return ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.ca_file),
                         valid_names=[self.tls_name])

    def admin_connection(self) -> ldap3.Connection:
        """A new bound, verified LDAPS connection as the domain Administrator."""
        server = ldap3.Server(self.url, use_ssl=True, tls=self.tls(), get_info=ldap3.NONE,
                              connect_timeout=5)
        return ldap3.Connection(server, self.admin_dn, self.admin_password, auto_bind=True,
                                receive_timeout=15)


def fresh_ou(conn: ldap3.Connection, base_dn: str = BASE_DN) -> str:
    """Create an OU with a random name (OU=t<hex>) under base_dn, so tests don't interfere."""
    dn = f"OU=t{secrets.token_hex(5)},{base_dn}"
    if not conn.add(dn, "organizationalUnit"):
        raise RuntimeError(f"could not create {dn}: {conn.result}")
    return dn


def delete_tree(conn: ldap3.Connection, dn: str) -> None:
    """Delete dn and everything under it (tree delete control); a missing dn is fine."""
    conn.delete(dn, controls=[(TREE_DELETE, True, None)])
    if conn.result["result"] not in (0, 32):
        raise RuntimeError(f"could not delete {dn}: {conn.result}")


@atexit.register
def _stop_all() -> None:
    """Backstop for an interrupted session: no samba daemon outlives the process that started it."""
    for dc in list(_RUNNING):
        dc.destroy(remove=False)
