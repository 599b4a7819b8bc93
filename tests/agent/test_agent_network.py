"""--network: the domain's person accounts, read through PowerShell and sent in batches."""

from __future__ import annotations

import json
import uuid

import pytest

WINDOWS_ENV = {"USERNAME": "tech", "USERDOMAIN": "CORP", "COMPUTERNAME": "FIN-PC07"}


def domain_json(count, bad_email_at=()):
    """PowerShell-style JSON for `count` enabled users, shaped like the recorded sample."""
    entries = [{
        "objectguid": str(uuid.UUID(int=n + 1)), "objectsid": f"S-1-5-21-1-2-3-{1100 + n}",
        "samaccountname": f"user{n:04d}", "givenname": "User", "sn": f"Number {n}",
        "displayname": f"User Number {n}",
        "mail": "not-an-email" if n in bad_email_at else f"user{n}@client.example.com",
        "useraccountcontrol": "512",
    } for n in range(count)]
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":"))


def run_network(agent, portal, fake_runner, text, *extra):
    """Run `--network --yes` in-process as on Windows, answering PowerShell with `text`."""
    run = fake_runner({"ps:network": text})
    args = ["--network", "--yes", "--url", portal.url, "--token", portal.token, *extra]
    return agent.main(args, run=run, system="Windows", env=WINDOWS_ENV), run


def test_recorded_sample_keeps_only_enabled_people(agent, sample):
    """Disabled, built-in, trust and machine accounts are skipped."""
    entries = agent.parse_directory_json(sample("adsi_network.json"))
    records, skipped = agent.network_records(entries)
    assert [r["username"] for r in records] == ["pat.oleary", "zoe.nunez", "mdelacruz"]
    assert skipped == 5
    pat, zoe, mary = records
    assert pat["source"] == "network"
    assert pat["source_key"] == "5f1c2a9e-8b3d-4c7a-9e21-0d6b4f8a3c17"
    assert (pat["last_name"], zoe["first_name"], zoe["department"]) == ("O'Leary", "Zoë", "R&D")
    assert (mary["first_name"], mary["last_name"]) == ("Mary Ann", "de la Cruz")
    assert mary["email"] == ""  # a corp.local UPN is not a mailbox
    assert all(r["machine_name"] == "" and r["os"] == "" for r in records)


def test_network_script_asks_for_paged_person_accounts(agent, fake_runner):
    """The PowerShell query pages through people and returns JSON."""
    run = fake_runner({"ps:network": "[]"})
    with pytest.raises(agent.AgentError):
        agent.collect_network(run)
    (script,) = run.scripts()
    assert "(&(objectCategory=person)(objectClass=user))" in script
    assert "PageSize = 500" in script and "ConvertTo-Json" in script
    for attribute in ("objectguid", "useraccountcontrol", "samaccountname", "mail"):
        assert f"'{attribute}'" in script


def test_single_entry_json_object_is_accepted(agent, sample):
    """PowerShell prints a lone object without brackets: still one entry."""
    assert len(agent.parse_directory_json(sample("adsi_user.json"))) == 1
    with pytest.raises(ValueError):
        agent.parse_directory_json("[1, 2]")


def test_recorded_sample_reaches_the_portal(agent, portal, fake_runner, sample, capsys):
    """The sample's three people are posted with source "network"."""
    code, _run = run_network(agent, portal, fake_runner, sample("adsi_network.json"))
    assert code == 0
    assert [r["source"] for r in portal.records] == ["network"] * 3
    out = capsys.readouterr().out
    assert "Sent 3 users to Enlist: 3 created." in out and "5 disabled" in out


def test_batches_of_100_reach_the_stub(agent, portal, fake_runner, capsys):
    """250 users go as 100 + 100 + 50 and the totals add up."""
    code, _run = run_network(agent, portal, fake_runner, domain_json(250))
    assert code == 0
    assert [len(req["records"]) for req in portal.requests] == [100, 100, 50]
    assert len({r["source_key"] for r in portal.records}) == 250
    assert "Sent 250 users to Enlist in 3 batches: 250 created." in capsys.readouterr().out


def test_rejections_in_a_batch_exit_4_and_the_rest_are_saved(agent, portal, fake_runner, capsys):
    """A rejected user in the second batch is reported by name; everyone else is saved."""
    code, _run = run_network(agent, portal, fake_runner, domain_json(150, bad_email_at={120}))
    out = capsys.readouterr().out
    assert code == 4
    assert "149 created, 1 rejected" in out
    assert "Rejected User Number 120" in out and "email: Enter a valid email address." in out
    assert len(portal.store) == 149


def test_failure_after_a_batch_says_what_was_sent(agent, portal, fake_runner, capsys):
    """The portal failing on batch two: exit 8, and the first 100 are known to be sent."""
    portal.script = [None, (500, {}, {"error": "boom"})]
    code, _run = run_network(agent, portal, fake_runner, domain_json(150))
    assert code == 8
    assert "first 100 users had already been sent" in capsys.readouterr().err


def test_json_report_for_network(agent, portal, fake_runner, capsys):
    """--json gives the totals of all batches."""
    code, _run = run_network(agent, portal, fake_runner, domain_json(120), "--json")
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["counts"]["created"] == 120 and len(result["results"]) == 120
    assert sorted(r["index"] for r in result["results"]) == list(range(120))


def test_unreadable_directory_exits_2(agent, portal, fake_runner, capsys):
    """Not on a domain (PowerShell printed nothing, or garbage): a clear message."""
    for text in ("", "Exception calling FindAll"):
        code, _run = run_network(agent, portal, fake_runner, text)
        assert code == 2
        assert "Could not read the domain's users" in capsys.readouterr().err
    assert portal.requests == []


def test_network_dry_run_lists_people(agent, portal, fake_runner, sample, capsys):
    """--network --dry-run lists who would be sent and sends nothing."""
    run = fake_runner({"ps:network": sample("adsi_network.json")})
    assert agent.main(["--network", "--dry-run"], run=run, system="Windows",
                      env=WINDOWS_ENV) == 0
    out = capsys.readouterr().out
    assert "3 users will be sent to Enlist:" in out and "Zoë Núñez" in out
    assert portal.requests == []


def test_single_user_on_windows_end_to_end(agent, portal, fake_runner, sample, capsys):
    """The Windows collector, the record and the sending, together."""
    outputs = {"whoami /user": sample("whoami_user.csv"), "whoami /upn": sample("whoami_upn.txt"),
               "ps:user": sample("adsi_user.json")}
    env = dict(WINDOWS_ENV, USERNAME="pat.oleary")
    code = agent.main(["--yes", "--url", portal.url, "--token", portal.token],
                      run=fake_runner(outputs), system="Windows", env=env)
    assert code == 0, capsys.readouterr()
    (record,) = portal.records
    assert record["source_key"] == "S-1-5-21-3623811015-3361044348-30300820-1013"
    assert record["first_name"] == "Pat" and record["machine_name"] == "FIN-PC07"
    assert record["os"].startswith("Windows")
