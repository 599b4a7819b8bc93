"""app.services.agent_package: the downloadable agents with the portal's values built in."""

from __future__ import annotations

import ast

import pytest

from app.services import agent_package

TRICKY = 'Acme "HQ" \\ O\'Brien’s $(rm -rf) `n ${x} é'


def python_config(source):
    """Evaluate the CONFIG line of a configured Python agent, as Python would."""
    (line,) = [ln for ln in source.splitlines() if ln.startswith("CONFIG = ")]
    return ast.literal_eval(line.split(" = ", 1)[1].split("  # filled in", 1)[0])


def test_agent_source_reads_both_agents():
    """Both agents ship with the package, each with its one config line unfilled."""
    python = agent_package.agent_source("python")
    powershell = agent_package.agent_source("powershell")
    assert 'CONFIG = {"portal_url": "", "token": "", "deployment": ""}  # filled in by the ' \
           'portal' in python.splitlines()
    assert '$Config = @{ PortalUrl = ""; Token = ""; Deployment = "" }  # filled in by the ' \
           'portal' in powershell.splitlines()
    assert agent_package.agent_filename("powershell") == "enlist-agent.ps1"
    with pytest.raises(ValueError):
        agent_package.agent_source("bash")


def test_python_agent_values_survive_any_characters():
    """Quotes, backslashes and non-ASCII come back exactly; only the config line changes."""
    source = agent_package.agent_source("python")
    configured = agent_package.configure_python_agent(
        source, "https://enlist.example.com", "tok\\en\"'", TRICKY)
    assert python_config(configured) == {"portal_url": "https://enlist.example.com",
                                         "token": "tok\\en\"'", "deployment": TRICKY}
    ast.parse(configured)
    changed = [a for a, b in zip(source.splitlines(), configured.splitlines()) if a != b]
    assert len(changed) == 1 and len(source.splitlines()) == len(configured.splitlines())


def test_configuring_twice_replaces_the_values():
    """A configured agent can be configured again (the line is still found)."""
    once = agent_package.configure_agent("python", "https://a.example", "t1", "A")
    twice = agent_package.configure_python_agent(once, "https://b.example", "t2", "B")
    assert python_config(twice)["token"] == "t2"


@pytest.mark.parametrize("field", ["portal_url", "token", "deployment"])
@pytest.mark.parametrize("bad", ["line\nbreak", "carriage\rreturn", "nul\x00", "sep\u2028"])
def test_values_with_line_breaks_are_refused(field, bad):
    """No value may start a new line in the agent's source."""
    values = {"portal_url": "https://enlist.example.com", "token": "t", "deployment": "d"}
    values[field] = values[field] + bad
    for kind in ("python", "powershell"):
        with pytest.raises(ValueError):
            agent_package.configure_agent(kind, **values)


@pytest.mark.parametrize("url", ["", "enlist.example.com", "ftp://x", "javascript:alert(1)"])
def test_portal_url_must_be_a_web_address(url):
    """The address must be http(s) with a host."""
    with pytest.raises(ValueError):
        agent_package.configure_agent("python", url, "t", "d")


def test_empty_token_is_refused():
    """An agent without a token could only fail on the PC."""
    with pytest.raises(ValueError):
        agent_package.configure_agent("python", "https://x.example", "", "d")


def test_missing_or_duplicated_config_line_is_refused():
    """The replacement is exact: zero or two config lines is an error, not a guess."""
    with pytest.raises(ValueError):
        agent_package.configure_python_agent("print('no config')\n", "https://x.example", "t", "")
    doubled = 'CONFIG = {}  # filled in by the portal\n' * 2
    with pytest.raises(ValueError):
        agent_package.configure_python_agent(doubled, "https://x.example", "t", "")


def test_powershell_values_are_single_quoted_and_escaped():
    """Single quotes (typographic ones too) are doubled; $ and ` stay inert in '...'."""
    configured = agent_package.configure_agent("powershell", "https://enlist.example.com",
                                               "a'b", TRICKY)
    (line,) = [ln for ln in configured.splitlines() if ln.startswith("$Config = ")]
    assert line == ("$Config = @{ PortalUrl = 'https://enlist.example.com'; Token = 'a''b'; "
                    "Deployment = 'Acme \"HQ\" \\ O''Brien’’s $(rm -rf) `n ${x} é' }  "
                    "# filled in by the portal")


def test_powershell_agent_gets_a_bom_only_when_needed():
    """Windows PowerShell 5.1 needs a BOM to read non-ASCII text as UTF-8."""
    plain = agent_package.configure_agent("powershell", "https://x.example", "t", "Acme")
    accented = agent_package.configure_agent("powershell", "https://x.example", "t", "Café")
    assert not plain.startswith("\ufeff") and accented.startswith("\ufeff")
    again = agent_package.configure_powershell_agent(accented, "https://x.example", "t", "Café")
    assert again.count("\ufeff") == 1


def test_windows_line_endings_are_kept():
    """A CRLF checkout is configured without mixing line endings."""
    source = agent_package.agent_source("powershell").replace("\n", "\r\n")
    configured = agent_package.configure_powershell_agent(source, "https://x.example", "t", "")
    assert "Deployment = '' }  # filled in by the portal\r\n" in configured
    assert configured.count("\n") == configured.count("\r\n")


def test_configured_agent_runs_without_url_or_token_flags(portal, run_agent, tmp_path):
    """The downloaded agent knows its portal: only --yes is needed to send."""
    script = tmp_path / "enlist_agent.py"
    script.write_text(agent_package.configure_agent("python", portal.url, portal.token, "ACME"),
                      encoding="utf-8")
    done = run_agent("--yes", script=script)
    assert done.returncode == 0, done.stderr
    assert "Sent 1 user to Enlist: created." in done.stdout
    assert run_agent(script=script).returncode == 3  # unattended, and nobody confirmed
    assert len(portal.records) == 1
