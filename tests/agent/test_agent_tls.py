"""The agent over HTTPS: certificates are checked unless the technician says otherwise."""

from __future__ import annotations


def test_untrusted_certificate_exits_7_and_mentions_ca_file(tls_portal, run_agent):
    """A certificate from an unknown authority is refused, with the way out."""
    done = run_agent("--url", tls_portal.url, "--token", tls_portal.token, "--yes")
    assert done.returncode == 7
    assert "not trusted" in done.stderr and "--ca-file" in done.stderr
    assert tls_portal.records == []


def test_ca_file_makes_the_certificate_trusted(tls_portal, tls_files, run_agent):
    """--ca-file trusts the private authority: the user is sent."""
    done = run_agent("--url", tls_portal.url, "--token", tls_portal.token, "--yes",
                     "--ca-file", str(tls_files["ca"]))
    assert done.returncode == 0, done.stderr
    assert "Sent 1 user to Enlist: created." in done.stdout


def test_insecure_sends_but_warns(tls_portal, run_agent):
    """--insecure skips the check, and says so."""
    done = run_agent("--url", tls_portal.url, "--token", tls_portal.token, "--yes", "--insecure")
    assert done.returncode == 0, done.stderr
    assert "--insecure" in done.stderr


def test_https_to_a_plain_http_server_exits_7(portal, run_agent):
    """https:// against a plain-HTTP port fails the handshake: a TLS error in plain words."""
    url = portal.url.replace("http://", "https://")
    done = run_agent("--url", url, "--token", portal.token, "--yes")
    assert done.returncode == 7 and "Traceback" not in done.stderr


def test_missing_ca_file_is_a_usage_error(tls_portal, tmp_path, run_agent):
    """A --ca-file that does not exist exits 2 before anything is sent."""
    done = run_agent("--url", tls_portal.url, "--token", "t", "--yes",
                     "--ca-file", str(tmp_path / "missing.pem"))
    assert done.returncode == 2 and "--ca-file" in done.stderr
