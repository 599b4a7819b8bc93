"""The agent run as a program against the stub portal: what it sends, says and exits with."""

from __future__ import annotations

import io
import json
import socket
import time

import pytest


def send_args(portal, *extra):
    """Command-line arguments pointing the agent at the stub portal."""
    return ("--url", portal.url, "--token", portal.token, *extra)


def test_created_user_exits_0_with_the_payload_the_contract_asks(portal, run_agent, agent):
    """One PC user is posted with the token, as JSON, with every contract field."""
    done = run_agent(*send_args(portal, "--yes"))
    assert done.returncode == 0, done.stderr
    assert "Sent 1 user to Enlist: created." in done.stdout
    (request,) = portal.requests
    assert request["path"] == "/api/v1/discovery"
    assert request["headers"]["Authorization"] == "Bearer test-token"
    assert request["headers"]["Content-Type"] == "application/json"
    (record,) = portal.records
    assert list(record) == list(agent.RECORD_FIELDS)
    assert record["source"] == "pc" and record["source_key"].startswith("pc:")
    assert record["machine_name"] and record["os"] and record["username"]


def test_second_run_is_unchanged(portal, run_agent):
    """The source key is stable, so running twice changes nothing."""
    run_agent(*send_args(portal, "--yes"))
    done = run_agent(*send_args(portal, "--yes"))
    assert done.returncode == 0 and "Sent 1 user to Enlist: unchanged." in done.stdout


def test_rejection_exits_4_with_the_reasons(portal, run_agent):
    """A 422 prints each rejected user's field and reason."""
    portal.required = ("email",)
    done = run_agent(*send_args(portal, "--yes"))
    assert done.returncode == 4
    assert "Sent 1 user to Enlist: rejected." in done.stdout
    assert "email: This field is required." in done.stdout


def test_refused_token_exits_5_with_the_portals_words(portal, run_agent):
    """A 401 shows the portal's message."""
    done = run_agent("--url", portal.url, "--token", "revoked", "--yes")
    assert done.returncode == 5
    assert "not valid or was revoked" in done.stderr


def test_closed_port_exits_6(run_agent):
    """Nothing listening: a network error in plain words."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free once closed
    done = run_agent("--url", f"http://127.0.0.1:{port}", "--token", "t", "--yes")
    assert done.returncode == 6
    assert "refused the connection" in done.stderr


def test_unknown_host_exits_6(run_agent):
    """A name that cannot resolve is a network error, not a crash."""
    done = run_agent("--url", "http://no-such-host.invalid", "--token", "t", "--yes",
                     "--timeout", "5")
    assert done.returncode == 6 and "Traceback" not in done.stderr


def test_wrong_path_exits_6_no_enlist_api(portal, run_agent):
    """A URL that is not the portal gives a 404 page: say there is no Enlist API there."""
    done = run_agent("--url", portal.url + "/wrong", "--token", portal.token, "--yes")
    assert done.returncode == 6
    assert "no Enlist discovery API at this URL" in done.stderr


def test_too_many_requests_then_ok_waits_and_sends(portal, run_agent):
    """429 with Retry-After: the agent waits that long, then sends."""
    portal.script = [(429, {"Retry-After": "1"}, {"error": "Slow down."})]
    started = time.monotonic()
    done = run_agent(*send_args(portal, "--yes"))
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started >= 1
    assert len(portal.requests) == 2 and len(portal.records) == 1


def test_too_many_requests_that_do_not_clear_exit_8(portal, run_agent):
    """Three 429s: give up with exit 8 and say so."""
    portal.script = [(429, {"Retry-After": "0"}, {"error": "Slow down."})] * 3
    done = run_agent(*send_args(portal, "--yes"))
    assert done.returncode == 8
    assert "too many requests" in done.stderr and len(portal.requests) == 3


def test_a_long_retry_after_is_not_waited_for(portal, run_agent):
    """An hour's Retry-After ends the run at once instead of hanging an RMM job."""
    portal.script = [(429, {"Retry-After": "3600"}, {"error": "Come back later."})]
    done = run_agent(*send_args(portal, "--yes"))
    assert done.returncode == 8 and len(portal.requests) == 1
    assert "3600" in done.stderr


@pytest.mark.parametrize("status, body", [
    (500, {"error": "Internal Server Error"}),
    (200, "<html>captive portal</html>"),
    (413, {"error": "The upload is too large."}),
])
def test_server_errors_and_odd_answers_exit_8(portal, run_agent, status, body):
    """Server errors and answers that are not the contract's exit 8."""
    portal.script = [(status, {}, body)]
    done = run_agent(*send_args(portal, "--yes"))
    assert done.returncode == 8 and "Traceback" not in done.stderr


def test_redirects_are_not_followed(portal, run_agent):
    """A redirect could carry the token elsewhere: refuse it and name the new address."""
    portal.script = [(302, {"Location": "http://example.invalid/"}, {})]
    done = run_agent(*send_args(portal, "--yes"))
    assert done.returncode == 6
    assert "redirects to http://example.invalid/" in done.stderr
    assert len(portal.requests) == 1


def test_dry_run_sends_nothing(portal, run_agent):
    """--dry-run shows the payload and sends nothing."""
    done = run_agent(*send_args(portal, "--dry-run"))
    assert done.returncode == 0
    assert "source key:" in done.stdout and "Dry run: nothing was sent." in done.stdout
    assert portal.requests == []


def test_dry_run_json_is_one_object(run_agent):
    """--dry-run --json prints one parseable object holding the records."""
    done = run_agent("--dry-run", "--json")
    result = json.loads(done.stdout)
    assert result["exit_code"] == 0 and result["records"][0]["source"] == "pc"


def test_unattended_without_yes_exits_3_and_sends_nothing(portal, run_agent):
    """No terminal and no --yes: print the payload, explain --yes, exit 3."""
    done = run_agent(*send_args(portal))
    assert done.returncode == 3
    assert "This will be sent to Enlist:" in done.stdout
    assert "--yes" in done.stderr
    assert portal.requests == []


def test_json_output_after_sending(portal, run_agent):
    """--json: the portal's counts and results, the exit code and the message."""
    done = run_agent(*send_args(portal, "--yes", "--json"))
    result = json.loads(done.stdout)
    assert result["exit_code"] == 0 and result["ok"] is True
    assert result["counts"]["created"] == 1
    assert result["results"][0]["outcome"] == "created"


def test_json_output_on_failure(portal, run_agent):
    """--json still prints one object when the token is refused."""
    done = run_agent("--url", portal.url, "--token", "nope", "--yes", "--json")
    result = json.loads(done.stdout)
    assert done.returncode == 5 and result["exit_code"] == 5 and not result["ok"]


def test_no_url_or_token_exits_2(run_agent):
    """Nothing configured: a usage error that says how to fix it."""
    done = run_agent("--yes")
    assert done.returncode == 2
    assert "No portal address and token configured" in done.stderr


def test_environment_variables_configure_the_agent(portal, run_agent):
    """ENLIST_URL and ENLIST_TOKEN work when no flags are given."""
    done = run_agent("--yes", env={"ENLIST_URL": portal.url + "/", "ENLIST_TOKEN": portal.token})
    assert done.returncode == 0, done.stderr


def test_flags_beat_environment(portal, run_agent):
    """--token overrides ENLIST_TOKEN."""
    done = run_agent("--yes", "--token", portal.token,
                     env={"ENLIST_URL": portal.url, "ENLIST_TOKEN": "stale"})
    assert done.returncode == 0, done.stderr


def test_full_api_url_is_accepted(portal, run_agent):
    """A technician may paste the API address itself."""
    done = run_agent("--url", portal.url + "/api/v1/discovery", "--token", portal.token, "--yes")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("args", [
    ("--url", "ftp://portal", "--token", "t", "--yes"),
    ("--timeout", "0"),
    ("--bogus",),
])
def test_bad_usage_exits_2(run_agent, args):
    """A bad address, timeout or flag is a usage error."""
    assert run_agent(*args).returncode == 2


def test_network_off_windows_exits_2(run_agent):
    """--network needs a domain-joined Windows PC."""
    done = run_agent("--network", "--dry-run")
    assert done.returncode == 2 and "Windows" in done.stderr


def test_help_documents_the_exit_codes(run_agent):
    """--help lists every exit code."""
    done = run_agent("--help")
    assert done.returncode == 0
    for code in ("0", "2", "3", "4", "5", "6", "7", "8"):
        assert f"\n  {code}  " in done.stdout


class _Terminal(io.StringIO):
    """A standard input that claims to be a terminal, holding the person's answer."""

    def isatty(self):
        """Pretend to be interactive."""
        return True


@pytest.mark.parametrize("answer, code, sent", [("y\n", 0, 1), ("\n", 3, 0), ("no\n", 3, 0)])
def test_interactive_confirmation(portal, agent, monkeypatch, capsys, answer, code, sent):
    """At a terminal the agent shows the payload and sends only after "y"."""
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    assert agent.main(list(send_args(portal)), env={}) == code
    out = capsys.readouterr().out
    assert "This will be sent to Enlist:" in out and "[y/N]" in out
    assert len(portal.records) == sent
