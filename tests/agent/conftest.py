"""Fixtures for the discovery agent: the agent module, a stub portal, a TLS certificate, samples."""

from __future__ import annotations

import base64
import datetime
import importlib.util
import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from stub_portal import StubPortal, tls_server_context

REPO = Path(__file__).resolve().parents[2]
AGENT_PY = REPO / "app" / "agent" / "enlist_agent.py"
SAMPLES = Path(__file__).resolve().parent / "samples"


class FakeRunner:
    """Stands in for the agent's command runner, answering with recorded outputs."""

    def __init__(self, outputs):
        """outputs maps a command's name (see command_name) to what it printed."""
        self.outputs, self.calls = outputs, []

    def __call__(self, args, timeout):
        """Record the call and answer with the recorded output, or "" as a failed command."""
        self.calls.append((command_name(args), list(args), timeout))
        return self.outputs.get(command_name(args), "")

    def scripts(self):
        """The PowerShell scripts the agent ran, decoded."""
        return [powershell_script(args) for _name, args, _t in self.calls
                if args[0] == "powershell.exe"]


def command_name(args):
    """Name a command line: "whoami /user", "ps:user", "ps:network", "dscl" and so on."""
    if args[0] == "powershell.exe":
        script = powershell_script(args)
        if "Win32_ComputerSystem" in script:
            return "ps:console"
        return "ps:network" if "FindAll" in script else "ps:user"
    return " ".join(args[:2]) if args[0] in ("whoami", "id") else args[0]


def powershell_script(args):
    """Decode the script the agent passed to powershell.exe -EncodedCommand."""
    return base64.b64decode(args[args.index("-EncodedCommand") + 1]).decode("utf-16-le")


@pytest.fixture
def sample():
    """Read a recorded command output from tests/agent/samples."""
    # Bytes, decoded as the agent does: Windows samples keep their \r\n line ends.
    return lambda name: (SAMPLES / name).read_bytes().decode("utf-8")


@pytest.fixture
def fake_runner():
    """The FakeRunner class, for tests to build with recorded outputs."""
    return FakeRunner


@pytest.fixture(scope="session")
def agent():
    """The agent module, loaded from its file as the portal ships it."""
    spec = importlib.util.spec_from_file_location("enlist_agent", AGENT_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def portal():
    """A stub portal on 127.0.0.1 over plain HTTP."""
    stub = StubPortal().start()
    yield stub
    stub.stop()


@pytest.fixture
def run_agent(tmp_path):
    """Run an agent file as a subprocess, with no ENLIST_* variables and no terminal."""

    def run(*args, script=AGENT_PY, env=None, timeout=60):
        """Run the agent with these arguments and return the finished process."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ENLIST_")}
        clean.update(env or {})
        return subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True,
            stdin=subprocess.DEVNULL, env=clean, cwd=tmp_path, timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A private certificate authority and a 127.0.0.1 server certificate it signed."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, ca_cert = _certificate("Enlist Test CA", None, None, is_ca=True)
    key, cert = _certificate("127.0.0.1", ca_key, ca_cert, is_ca=False)
    files = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "key.pem"}
    files["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return files


@pytest.fixture
def tls_portal(tls_files):
    """A stub portal over HTTPS with a certificate from the private test CA."""
    stub = StubPortal(tls=tls_server_context(tls_files["cert"], tls_files["key"])).start()
    yield stub
    stub.stop()


def _certificate(common_name, issuer_key, issuer_cert, is_ca):
    """Make a key and a certificate with the extensions strict TLS verification expects."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            (issuer_key or key).public_key()), False)
    )
    if is_ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
    return key, builder.sign(issuer_key or key, hashes.SHA256())
