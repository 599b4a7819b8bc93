"""The agent's collectors and parsers, fed with recorded Windows, macOS and Linux outputs."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PAT_SID = "S-1-5-21-3623811015-3361044348-30300820-1013"
WINDOWS_ENV = {"USERNAME": "pat.oleary", "USERDOMAIN": "CORP", "COMPUTERNAME": "FIN-PC07"}


def windows_outputs(sample):
    """The recorded outputs of a domain-joined Windows 11 PC."""
    return {"whoami /user": sample("whoami_user.csv"), "whoami /upn": sample("whoami_upn.txt"),
            "ps:user": sample("adsi_user.json"), "ps:console": sample("console_user.json")}


def test_the_agent_parses_as_python_3_8(agent):
    """The agent must run on the oldest Python the PCs may have."""
    ast.parse(Path(agent.__file__).read_text(encoding="utf-8"), feature_version=(3, 8))


def test_the_agent_imports_only_the_standard_library(agent):
    """The agent is a single file: nothing outside the standard library."""
    tree = ast.parse(Path(agent.__file__).read_text(encoding="utf-8"))
    names = {alias.name.split(".")[0] for node in ast.walk(tree)
             if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module}
    assert names - {"__future__"} <= set(sys.stdlib_module_names)


def test_whoami_parsers_read_recorded_output(agent, sample):
    """`whoami /user /fo csv /nh` gives the SID; `whoami /upn` the UPN, or "" on failure."""
    assert agent.parse_whoami_sid(sample("whoami_user.csv")) == PAT_SID
    assert agent.parse_whoami_upn(sample("whoami_upn.txt")) == "pat.oleary@corp.example.com"
    assert agent.parse_whoami_upn("ERROR: Unable to get User Principal Name (UPN)\r\n") == ""
    assert agent.parse_whoami_sid("") == ""


def test_adsi_output_maps_to_record_fields(agent, sample):
    """PowerShell 5.1's escaped JSON (O\\u0027Leary) becomes plain record fields."""
    entry = agent.parse_directory_json(sample("adsi_user.json"))[0]
    fields = agent.directory_fields(entry)
    assert fields == {
        "first_name": "Pat", "last_name": "O'Leary", "display_name": "Pat O'Leary",
        "email": "pat.oleary@client.example.com", "phone": "(555) 010-4477",
        "location": "Dublin", "department": "Finance", "job_title": "Accounts Payable Lead",
        "username": "pat.oleary",
    }


def test_windows_domain_user(agent, sample, fake_runner):
    """A domain user: the SID is the key and Active Directory fills the fields."""
    run = fake_runner(windows_outputs(sample))
    details = agent.collect_windows_user(run, WINDOWS_ENV)
    record = agent.build_record(details, "pc", agent.pc_source_key(details, "FIN-PC07"),
                                "FIN-PC07", "Windows 11 (10.0.22631)")
    assert record["source_key"] == PAT_SID
    assert record["email"] == "pat.oleary@client.example.com"
    assert record["username"] == "pat.oleary" and record["machine_name"] == "FIN-PC07"
    assert list(record) == list(agent.RECORD_FIELDS)
    user_script = run.scripts()[0]
    assert "(sAMAccountName=pat.oleary)" in user_script and "FindOne" in user_script
    assert all("-NoProfile" in args and "-NonInteractive" in args
               for _n, args, _t in run.calls if args[0] == "powershell.exe")
    assert all(timeout for _n, _a, timeout in run.calls)


def test_windows_under_rmm_reports_the_console_user(agent, sample, fake_runner):
    """Run as SYSTEM by an RMM tool, the agent describes the person at the console."""
    run = fake_runner(windows_outputs(sample))
    env = dict(WINDOWS_ENV, USERNAME="FIN-PC07$", USERDOMAIN="CORP")
    details = agent.collect_windows_user(run, env)
    assert details["account"] == "pat.oleary" and details["sid"] == PAT_SID
    assert "whoami /user" not in [name for name, _a, _t in run.calls]


def test_windows_under_rmm_with_nobody_signed_in(agent, fake_runner):
    """Nobody at the console: a clear usage error, not a record for SYSTEM."""
    with pytest.raises(agent.AgentError) as caught:
        agent.collect_windows_user(fake_runner({}), dict(WINDOWS_ENV, USERNAME="SYSTEM"))
    assert caught.value.outcome.exit_code == 2
    assert "No one is signed in" in caught.value.outcome.message


def test_windows_local_account_skips_the_directory(agent, sample, fake_runner):
    """A local account (domain = machine) is not looked up in AD; the SID is still the key."""
    run = fake_runner({"whoami /user": sample("whoami_user.csv")})
    env = dict(WINDOWS_ENV, USERDOMAIN="FIN-PC07", USERNAME="frontdesk")
    details = agent.collect_windows_user(run, env)
    assert "ps:user" not in [name for name, _a, _t in run.calls]
    assert agent.pc_source_key(details, "FIN-PC07") == PAT_SID


def test_windows_without_sid_or_directory_keys_by_machine_and_account(agent, fake_runner):
    """When whoami and AD both fail the key is pc:<MACHINE>:<DOMAIN\\account>."""
    details = agent.collect_windows_user(fake_runner({}), WINDOWS_ENV)
    assert agent.pc_source_key(details, "FIN-PC07") == "pc:FIN-PC07:CORP\\pat.oleary"


def test_windows_routable_upn_stands_in_for_a_missing_mailbox(agent, sample, fake_runner):
    """No mail attribute: a routable UPN is used; a corp.local one is not."""
    outputs = {"whoami /upn": sample("whoami_upn.txt")}
    details = agent.collect_windows_user(fake_runner(outputs), WINDOWS_ENV)
    assert details["email"] == "pat.oleary@corp.example.com"
    outputs = {"whoami /upn": "pat.oleary@corp.local\r\n"}
    assert not agent.collect_windows_user(fake_runner(outputs), WINDOWS_ENV).get("email")


def test_directory_search_escapes_the_account_name(agent, fake_runner):
    """An odd account name cannot change the LDAP filter or break the PowerShell string."""
    run = fake_runner({})
    agent.read_directory_user(run, "o'brien*(x)")
    script = run.scripts()[0]
    assert "(sAMAccountName=o''brien\\2a\\28x\\29)" in script


def test_macos_dscl_sample(agent, sample, fake_runner):
    """dscl: multi-line values, several addresses, native attributes and a photo blob."""
    run = fake_runner({"dscl": sample("dscl_read_user.txt"), "id -F": sample("id_F.txt")})
    details = agent.collect_macos_user(run, "pat")
    assert details == {
        "account": "pat", "display_name": "Pat O'Leary", "first_name": "Pat",
        "last_name": "O'Leary", "email": "pat.oleary@client.example.com",
        "phone": "+1 555 010 4477", "job_title": "Accounts Payable Lead", "department": "",
        "location": "",
    }
    assert run.calls[0][1] == ["dscl", ".", "-read", "/Users/pat"]


def test_macos_falls_back_to_id_f(agent, sample, fake_runner):
    """Without a RealName from dscl, `id -F` gives the full name, which is split."""
    run = fake_runner({"id -F": sample("id_F.txt")})
    details = agent.collect_macos_user(run, "pat")
    record = agent.build_record(details, "pc", "pc:MAC:MAC\\pat")
    assert (record["first_name"], record["last_name"]) == ("Pat", "O'Leary")


def test_linux_gecos_sample(agent, sample, fake_runner):
    """getent passwd GECOS: full name, room, work phone, and a mailbox in "other"."""
    run = fake_runner({"getent": sample("getent_passwd.txt")})
    details = agent.collect_linux_user(run, "pat")
    assert details == {"account": "pat", "display_name": "Pat O'Leary", "location": "Room 4.12",
                       "phone": "5550104477", "email": "pat.oleary@client.example.com"}
    assert agent.parse_gecos("root:x:0:0:root:/root:/bin/bash")["display_name"] == "root"
    assert agent.parse_gecos("garbage") == {}


@pytest.mark.parametrize("full, expected", [
    ("Pat O'Leary", ("Pat", "O'Leary")),
    ("O'Leary, Pat", ("Pat", "O'Leary")),
    ("Juan de la Cruz", ("Juan", "de la Cruz")),
    ("Cher", ("Cher", "")),
    ("Pat Lee (Sales)", ("Pat", "Lee")),
    ("  ", ("", "")),
])
def test_split_full_name(agent, full, expected):
    """Names split into first and last the way a technician would expect."""
    assert agent.split_full_name(full) == expected


def test_record_is_cleaned_and_complete(agent):
    """Every contract field is present, as trimmed text without control characters."""
    record = agent.build_record({"display_name": " Pat\tLee ", "account": "pat"}, "pc",
                                "pc:PC:PC\\pat", "PC", "Linux")
    assert set(record) == set(agent.RECORD_FIELDS)
    assert all(isinstance(value, str) for value in record.values())
    assert record["display_name"] == "Pat Lee" and record["username"] == "pat"


def test_collect_this_user_on_linux_uses_getent(agent, sample, fake_runner):
    """The Linux path builds a pc record keyed by machine and account."""
    run = fake_runner({"getent": sample("getent_passwd.txt")})
    record = agent.collect_this_user(run, "Linux", {"USER": "pat"})
    assert record["source_key"].startswith("pc:") and record["source_key"].endswith("\\pat")
    assert record["first_name"] == "Pat" and record["os"]
