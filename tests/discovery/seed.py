"""The client's existing domain for network discovery tests and benches: 2,000 accounts, seeded once.

Seeding goes over LDAPS like any client would (a few admin connections, bare adds, only the attributes
needed); the seeded DC's folder is then cached beside the base DC (keyed by Samba's version and
SEED_VERSION), so later sessions only copy it (well under a second) and start it on 127.0.0.2, or on
the next free loopback address when another session holds that one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
import unicodedata
from pathlib import Path

from tests.support import samba

SEED_VERSION = 2
OU = "OU=Staff"
ACCENTED, NO_EMAIL, APOSTROPHE, PLAIN = 120, 100, 20, 1640
PEOPLE = ACCENTED + NO_EMAIL + APOSTROPHE + PLAIN  # 1,880 enabled people: what the Catalog must list
DISABLED, SERVICE_NAMED, SERVICE_SPN, COMPUTERS = 60, 25, 15, 20
SEEDED = PEOPLE + DISABLED + SERVICE_NAMED + SERVICE_SPN + COMPUTERS  # 2,000 accounts
FIRST = ("Ann", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ida", "Jo", "Kim", "Lou", "Max", "Ned", "Oli")
LAST = ("Lee", "Ray", "Shaw", "Moss", "Kent", "Hart", "Bell", "Cole", "Dunn", "Ford", "Gray", "Hale")
ACCENTED_FIRST = ("Zoë", "Renée", "José", "Siân", "Łucja", "Jürgen", "Ólafur", "Çağla")
ACCENTED_LAST = ("Ångström", "Müller-Lüdenscheidt", "Núñez", "Øyen", "Dvořák", "Söderström", "Łukaszewicz")
DEPARTMENTS = ("Sales", "Support", "Finance", "R&D", "Operations", "Legal")
LOCATIONS = ("Leeds", "York", "Hull", "Zürich")
TITLES = ("Analyst", "Manager", "Engineer", "Assistant", "Director")
USER = ["top", "person", "organizationalPerson", "user"]
COMPUTER = [*USER, "computer"]


def _ascii(text: str) -> str:
    """A name folded to ASCII letters for an email address."""
    folded = unicodedata.normalize("NFKD", text.replace("Ł", "L").replace("ł", "l").replace("Ø", "O"))
    return "".join(c for c in folded if c.isascii() and c.isalpha()).lower()


def person(i: int) -> dict:
    """The attributes of the i-th enabled person (accented, no email, apostrophe or plain, by range)."""
    if i < ACCENTED:
        first, last = ACCENTED_FIRST[i % len(ACCENTED_FIRST)], ACCENTED_LAST[i % len(ACCENTED_LAST)]
    elif ACCENTED + NO_EMAIL <= i < ACCENTED + NO_EMAIL + APOSTROPHE:
        first, last = FIRST[i % len(FIRST)], "O'Brien"
    else:
        first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
    attrs = {"sAMAccountName": f"p{i:04d}", "givenName": first, "sn": last, "displayName": f"{first} {last}",
             "telephoneNumber": f"555{i:04d}", "department": DEPARTMENTS[i % len(DEPARTMENTS)],
             "physicalDeliveryOfficeName": LOCATIONS[i % len(LOCATIONS)], "title": TITLES[i % len(TITLES)],
             "userAccountControl": 512}
    if not ACCENTED <= i < ACCENTED + NO_EMAIL:
        attrs["mail"] = f"{_ascii(first)}.{_ascii(last)}.{i}@corp.example.test"
    return attrs


def accounts(base_dn: str) -> list[tuple[str, list[str], dict]]:
    """Every seeded account as (dn, object classes, attributes)."""
    ou = f"{OU},{base_dn}"
    rows = [(f"CN=p{i:04d},{ou}", USER, person(i)) for i in range(PEOPLE)]
    rows += [(f"CN=d{i:03d},{ou}", USER, {"sAMAccountName": f"d{i:03d}", "givenName": "Gone", "sn": f"Away{i}",
                                         "mail": f"gone{i}@corp.example.test", "userAccountControl": 514})
             for i in range(DISABLED)]
    rows += [(f"CN=svc_app{i},{ou}", USER, {"sAMAccountName": f"svc_app{i}", "userAccountControl": 512})
             for i in range(SERVICE_NAMED)]
    rows += [(f"CN=apppool{i},{ou}", USER, {"sAMAccountName": f"apppool{i}", "userAccountControl": 512,
                                            "servicePrincipalName": f"HTTP/app{i}.corp.example.test"})
             for i in range(SERVICE_SPN)]
    rows += [(f"CN=PC{i:03d},{ou}", COMPUTER, {"sAMAccountName": f"PC{i:03d}$", "userAccountControl": 4096})
             for i in range(COMPUTERS)]
    return rows


def seed(dc: samba.DC, connections: int = 3) -> None:
    """Add the OU and every account, over a few admin connections at once."""
    admin = dc.admin_connection()
    assert admin.add(f"{OU},{dc.base_dn}", "organizationalUnit"), admin.result
    rows = accounts(dc.base_dn)
    failures = []

    def add(share):
        conn = dc.admin_connection()
        for dn, classes, attrs in share:
            if not conn.add(dn, classes, attrs):
                failures.append((dn, conn.result))
        conn.unbind()

    threads = [threading.Thread(target=add, args=(rows[n::connections],)) for n in range(connections)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not failures, failures[:3]
    admin.unbind()


def builtin_accounts(dc: samba.DC) -> list[str]:
    """The provisioned domain's own critical accounts (Administrator, Guest, krbtgt, dns-...)."""
    conn = dc.admin_connection()
    conn.search(dc.base_dn, "(&(objectCategory=person)(objectClass=user)(isCriticalSystemObject=TRUE))",
                attributes=["sAMAccountName"])
    names = sorted(r["attributes"]["sAMAccountName"][0] for r in conn.response if r.get("type") == "searchResEntry")
    conn.unbind()
    return names


def seeded_folder(cache_root: Path = samba.CACHE_ROOT) -> Path:
    """The cached, stopped, seeded DC (built the first time; later callers wait for it and reuse it)."""
    folder = cache_root / f"discovery-seed-{samba.samba_version()}-v{SEED_VERSION}"
    if (folder / "seed.json").exists():
        return folder
    cache_root.mkdir(parents=True, exist_ok=True)
    with open(cache_root / ".discovery-seed.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "seed.json").exists():
            return folder
        staging = cache_root / f".discovery-seed.{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        dc = samba.start_dc(staging, ip=None, cache_root=cache_root)
        try:
            builtins = builtin_accounts(dc)
            seed(dc)
        finally:
            dc.destroy(remove=False)
        conf = dc.workdir / "etc/smb.conf"
        text = conf.read_text().replace(f"interfaces = {dc.ip}/8\n", "interfaces = lo\n")
        conf.write_text(text.replace(str(dc.workdir), str(folder)))
        shutil.rmtree(folder, ignore_errors=True)
        dc.workdir.rename(folder)
        shutil.rmtree(staging, ignore_errors=True)
        (folder / "seed.json").write_text(json.dumps({"version": SEED_VERSION, "builtin": builtins}))
    return folder


def start_seeded_dc(workdir: Path, ip: str = "127.0.0.2", cache_root: Path = samba.CACHE_ROOT) -> samba.DC:
    """A copy of the seeded DC, started on ip (the next free address when ip is taken)."""
    folder = seeded_folder(cache_root)
    try:
        address, lock = samba._claim_address(ip, cache_root)
    except samba.SambaNotAvailable:
        address, lock = samba._claim_address(None, cache_root)
    target = Path(workdir) / "dc"
    dc = samba.DC(target, address, lock)
    try:
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", str(folder), str(target)], check=True)
        samba._rewrite_conf(target, str(folder), address)
        dc.start()
    except BaseException:
        dc.destroy()
        raise
    dc.builtin_accounts = json.loads((folder / "seed.json").read_text())["builtin"]
    return dc
