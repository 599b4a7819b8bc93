"""enlist-agent.ps1, checked statically (no PowerShell on the test machines): it must say and
send the same as enlist_agent.py and stay within Windows PowerShell 5.1."""

from __future__ import annotations

import re

import pytest

from app.services.agent_package import agent_source

SOURCE = agent_source("powershell")


def function_body(name):
    """Return the text of one PowerShell function."""
    start = SOURCE.index(f"function {name}")
    end = SOURCE.find("\nfunction ", start + 1)
    return SOURCE[start:end if end > 0 else len(SOURCE)]


def test_record_has_exactly_the_python_agents_fields_in_order(agent):
    """Both agents send the same field names, in the same order."""
    block = re.search(r"\$record = \[ordered\]@\{(.*?)\n\s*\}", SOURCE, re.S).group(1)
    keys = re.findall(r"^\s*(\w+)\s*=", block, re.M)
    assert tuple(keys) == agent.RECORD_FIELDS


def test_exit_codes_match_the_python_agent(agent):
    """$EXIT_* values equal the Python constants of the same name."""
    codes = dict(re.findall(r"\$(EXIT_[A-Z]+) = (\d+)", SOURCE))
    assert len(codes) == 8
    for name, value in codes.items():
        assert getattr(agent, name) == int(value), name


def test_config_line_is_one_line_for_the_portal():
    """The portal replaces exactly this line."""
    lines = [ln for ln in SOURCE.splitlines() if ln.startswith("$Config = ")]
    assert lines == ['$Config = @{ PortalUrl = ""; Token = ""; Deployment = "" }  '
                     '# filled in by the portal']


def test_same_api_and_messages_as_the_python_agent(agent):
    """The endpoint and the phrases technicians search for are shared."""
    assert f"$ApiPath = '{agent.API_PATH}'" in SOURCE
    for phrase in ("Sent 1 user to Enlist: ", "no Enlist discovery API at this URL",
                   "Not sent: nobody is here to confirm", "Dry run: nothing was sent.",
                   "certificate is not trusted", "too many requests", "No one is signed in",
                   "No portal address or token configured", "ENLIST_URL", "ENLIST_TOKEN"):
        assert phrase in SOURCE, phrase


def test_sending_uses_tls12_basic_parsing_and_no_redirects():
    """Invoke-RestMethod as the brief asks, safe on a fresh Windows PowerShell 5.1."""
    send = function_body("Send-Record")
    assert "-UseBasicParsing" in send and "-MaximumRedirection 0" in send
    assert "[Net.SecurityProtocolType]::Tls12" in send
    assert '"Bearer $Secret"' in send and "'application/json'" in send
    assert "GetBytes" in send  # UTF-8 bytes, not a string 5.1 would send as Latin-1


def test_directory_lookup_escapes_the_account():
    """The LDAP filter escapes \\ * ( ) like the Python agent."""
    lookup = function_body("Get-DirectoryUser")
    for escape in (r"'\5c'", r"'\2a'", r"'\28'", r"'\29'"):
        assert escape in lookup


def test_ascii_only_so_powershell_51_reads_it_right():
    """Without a BOM, Windows PowerShell 5.1 reads scripts in the ANSI code page."""
    assert SOURCE.isascii()


@pytest.mark.parametrize("pattern, why", [
    (r"\?\?", "the ?? operator is PowerShell 7 only"),
    (r"\)\s*\?\s*[^\s]+\s*:", "the ternary operator is PowerShell 7 only"),
    (r"\|\|\s*\w|&&", "pipeline chain operators are PowerShell 7 only"),
    (r"-SkipCertificateCheck|-SslProtocol|ConvertFrom-Json\s+-AsHashtable", "PowerShell 7 only"),
    (r"\$(?!ErrorActionPreference|ProgressPreference)[A-Za-z]+Preference\s*=",
     "no other global preference changes"),
])
def test_no_powershell_7_only_syntax(pattern, why):
    """The script must parse and run on Windows PowerShell 5.1."""
    code = "\n".join(ln for ln in SOURCE.splitlines() if not ln.lstrip().startswith("#"))
    assert not re.search(pattern, code), why


def test_braces_and_parentheses_balance():
    """A cheap structural check in place of a PowerShell parser."""
    code = re.sub(r"'[^'\n]*'", "''", SOURCE)  # single-quoted strings may hold anything
    code = re.sub(r"<#.*?#>", "", code, flags=re.S)
    code = "\n".join(ln.split(" # ")[0] for ln in code.splitlines()
                     if not ln.lstrip().startswith("#"))
    for opening, closing in ("{}", "()", "[]"):
        assert code.count(opening) == code.count(closing), opening + closing


def test_param_block_comes_first_and_offers_the_same_switches():
    """param() must be the first statement; the switches mirror the Python flags."""
    code = re.sub(r"<#.*?#>", "", SOURCE, flags=re.S).strip()
    assert code.startswith("[CmdletBinding()]\nparam(")
    params = code[:code.index("\n)")]
    for name in ("$Url", "$Token", "$Yes", "$DryRun", "$Json", "$TimeoutSec"):
        assert name in params
