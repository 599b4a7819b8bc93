"""The real Python agent, downloaded from the Discovery page, run as a subprocess against the live portal.

The agent reads the Linux user from `getent passwd`; a stand-in getent on PATH gives it a known user.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CatalogEntry, DiscoveryToken
from app.services import discovery

PAGE = "/deployments/ACME/discovery/"


@pytest.fixture()
def agent_file(app, auth, technician, deployment, live_server, tmp_path):
    """The Python agent as a technician downloads it, configured for the live server."""
    app.config["ENLIST_PUBLIC_URL"] = live_server
    answer = auth.post(PAGE + "agent/python", page=PAGE)
    assert answer.status_code == 200
    path = tmp_path / "enlist_agent.py"
    path.write_bytes(answer.data)
    return path


def fake_getent(folder, gecos: str):
    """A getent that knows one user, zoe, with this GECOS field."""
    folder.mkdir(exist_ok=True)
    script = folder / "getent"
    script.write_text(f"#!/bin/sh\n[ \"$2\" = zoe ] && echo 'zoe:x:1001:1001:{gecos}:/home/zoe:/bin/sh'\n",
                      encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def run_agent(agent, tmp_path, *args, gecos="Zoë Ångström,Leeds 2,555 0100,,zoe@acme.example"):
    """Run the agent unattended as the Linux user zoe; (exit code, its JSON answer)."""
    fake_getent(tmp_path / "bin", gecos)
    env = {**os.environ, "USER": "zoe", "LOGNAME": "zoe", "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
           "ENLIST_URL": "", "ENLIST_TOKEN": ""}
    done = subprocess.run([sys.executable, str(agent), "--yes", "--json", "--timeout", "10", *args], env=env,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, json.loads(done.stdout)


def catalog_entries() -> list[CatalogEntry]:
    """Every catalog entry, freshly read (the live server wrote them)."""
    db.session.expire_all()
    return list(db.session.scalars(sa.select(CatalogEntry)))


def test_the_agent_reports_the_signed_in_user_and_the_entry_appears(agent_file, tmp_path, deployment):
    code, answer = run_agent(agent_file, tmp_path)
    assert code == 0, answer
    assert answer["counts"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 0}
    assert answer["message"] == "Sent 1 user to Enlist: created."
    [entry] = catalog_entries()
    host = socket.gethostname().split(".")[0]
    assert (entry.deployment_id, entry.source, entry.source_key) == (deployment.id, "pc", f"pc:{host}:{host}\\zoe")
    assert (entry.first_name, entry.last_name, entry.email, entry.phone, entry.location, entry.username) == \
        ("Zoë", "Ångström", "zoe@acme.example", "555 0100", "Leeds 2", "zoe")
    assert entry.machine_name == host and entry.os
    code, answer = run_agent(agent_file, tmp_path)
    assert (code, answer["message"]) == (0, "Sent 1 user to Enlist: unchanged.")
    assert catalog_entries()[0].times_seen == 2
    token = db.session.scalar(sa.select(DiscoveryToken))
    db.session.refresh(token)
    assert token.uses == 2 and token.last_used_at is not None


def test_a_rejected_user_exits_4_with_the_portals_reason(agent_file, tmp_path):
    code, answer = run_agent(agent_file, tmp_path, gecos="Z" * 70 + " Lee,,,,")
    assert code == 4 and answer["counts"]["rejected"] == 1
    assert any("first_name" in line and "at most 64" in line for line in answer["details"]), answer["details"]
    assert catalog_entries() == []


def test_a_revoked_token_exits_5_and_a_wrong_address_6(agent_file, tmp_path, deployment, live_server):
    assert run_agent(agent_file, tmp_path)[0] == 0
    token = db.session.scalar(sa.select(DiscoveryToken))
    discovery.revoke_token(deployment, token.id, "tests")
    code, answer = run_agent(agent_file, tmp_path)
    assert code == 5 and "not valid or was revoked" in answer["message"]
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    code, answer = run_agent(agent_file, tmp_path, "--url", f"http://127.0.0.1:{closed}")
    assert code == 6 and "refused the connection" in answer["message"]
    code, answer = run_agent(agent_file, tmp_path, "--url", f"{live_server}/somewhere-else")
    assert code == 6 and "redirects to" in answer["message"]  # an unknown page sends to sign-in
    assert len(catalog_entries()) == 1
