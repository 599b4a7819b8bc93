#!/usr/bin/env python3
"""Enlist discovery agent: tells your IT provider's Enlist portal who uses this PC.

It reads the signed-in user's name, email, phone, office, department and job title from the
operating system (and from Active Directory on a domain-joined Windows PC), shows them, and sends
them to the portal. Nothing else is read or sent. Python 3.8+, standard library only.
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import getpass
import http.client
import json
import os
import platform
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

CONFIG = {"portal_url": "", "token": "", "deployment": ""}  # filled in by the portal

AGENT_VERSION = "1.0"
API_PATH = "/api/v1/discovery"
RECORD_FIELDS = (
    "source", "source_key", "first_name", "last_name", "display_name", "email", "phone",
    "location", "department", "job_title", "username", "machine_name", "os",
)
BATCH_SIZE = 100  # the portal takes up to 1000; 100 keeps each request small and quick
RETRIES_AFTER_429 = 2
MAX_RETRY_WAIT = 120  # seconds; a longer Retry-After means "come back later", not "wait here"
COMMAND_TIMEOUT = 20
POWERSHELL_TIMEOUT = 60
NETWORK_TIMEOUT = 600  # enumerating a large domain takes a while

EXIT_OK, EXIT_USAGE, EXIT_CONFIRM, EXIT_REJECTED = 0, 2, 3, 4
EXIT_TOKEN, EXIT_NETWORK, EXIT_TLS, EXIT_SERVER = 5, 6, 7, 8
EXIT_CODES_HELP = """exit codes:
  0  sent (or --dry-run shown)
  2  usage or configuration error (no portal URL or token; --network off Windows)
  3  not sent: confirmation needed (add --yes when unattended) or answered no
  4  the portal rejected one or more users (the reasons are printed)
  5  the portal refused the token: ask your IT provider for a new agent
  6  network error: no network, unknown host, connection refused, or no Enlist API at the URL
  7  TLS error: the portal's certificate is not trusted (see --ca-file)
  8  server error or unexpected answer (including "too many requests" that did not clear)
"""

# Active Directory attribute (as PowerShell's ResultPropertyCollection names it) -> record field.
AD_FIELDS = {
    "givenname": "first_name", "sn": "last_name", "displayname": "display_name", "mail": "email",
    "telephonenumber": "phone", "physicaldeliveryofficename": "location",
    "department": "department", "title": "job_title", "samaccountname": "username",
}
UAC_DISABLED, UAC_NORMAL_ACCOUNT = 0x2, 0x200

# Flattens one DirectorySearcher result into a JSON-friendly object; shared by both AD scripts.
PS_FLATTEN = r"""
$props = 'objectguid','objectsid','samaccountname','userprincipalname','givenname','sn',
  'displayname','mail','telephonenumber','physicaldeliveryofficename','department','title',
  'useraccountcontrol'
function Flat($r) {
  $o = [ordered]@{}
  foreach ($k in $props) {
    $v = $r.Properties[$k]
    if ($v -and $v.Count -gt 0) {
      if ($k -eq 'objectguid') { $o[$k] = ([guid]::new([byte[]]$v[0])).ToString() }
      elseif ($k -eq 'objectsid') {
        $o[$k] = ([Security.Principal.SecurityIdentifier]::new([byte[]]$v[0], 0)).Value }
      else { $o[$k] = [string]$v[0] }
    }
  }
  New-Object PSObject -Property $o
}
$s = [adsisearcher]'FILTER'
$s.PageSize = 500
[void]$s.PropertiesToLoad.AddRange([string[]]$props)
"""
PS_USER = PS_FLATTEN + "$r = $s.FindOne(); if ($r) { Flat $r | ConvertTo-Json -Compress }\n"
PS_NETWORK = PS_FLATTEN + (
    # Windows PowerShell 5.1 may otherwise wrap arrays as {"value": [...], "Count": n}.
    "Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue\n"
    "$all = @(foreach ($r in $s.FindAll()) { Flat $r })\n"
    "ConvertTo-Json -InputObject $all -Compress\n"
)
PS_CONSOLE_USER = r"""
$u = (Get-CimInstance Win32_ComputerSystem).UserName
if ($u) {
  $sid = ''
  try { $sid = ([Security.Principal.NTAccount]$u).Translate(
    [Security.Principal.SecurityIdentifier]).Value } catch { }
  @{ user = $u; sid = $sid } | ConvertTo-Json -Compress
}
"""
NETWORK_FILTER = "(&(objectCategory=person)(objectClass=user))"


class Outcome:
    """How a run ended: an exit code, a plain-words message and any detail lines."""

    def __init__(self, exit_code, message, details=()):
        """Keep the exit code, the message and the detail lines."""
        self.exit_code, self.message, self.details = exit_code, message, list(details)


class AgentError(Exception):
    """A failure that ends the run with a documented exit code."""

    def __init__(self, exit_code, message, details=()):
        """Carry the outcome the failure stands for."""
        super().__init__(message)
        self.outcome = Outcome(exit_code, message, details)


# ---------------------------------------------------------------------------------------------
# Running commands


def run_command(args, timeout=COMMAND_TIMEOUT):
    """Run a command and return its standard output, or "" when it fails, is missing or hangs."""
    flags = 0x08000000 if os.name == "nt" else 0  # CREATE_NO_WINDOW: no console flash under RMM
    try:
        done = subprocess.run(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            timeout=timeout, creationflags=flags,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    if done.returncode != 0:
        return ""
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        # Windows console tools answer in the OEM code page rather than UTF-8.
        return done.stdout.decode(sys.getfilesystemencoding() or "latin-1", errors="replace")


def run_powershell(run, script, timeout=POWERSHELL_TIMEOUT):
    """Run a PowerShell script with no profile and no prompts; return what it printed."""
    # UTF-8 output so accented names survive; -EncodedCommand avoids every quoting pitfall.
    prologue = ("$ProgressPreference = 'SilentlyContinue'\n"
                "[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false\n")
    encoded = base64.b64encode((prologue + script).encode("utf-16-le")).decode("ascii")
    return run(["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
                "-EncodedCommand", encoded], timeout)


def ldap_escape(value):
    """Escape a value for an LDAP search filter (RFC 4515)."""
    return "".join("\\%02x" % ord(ch) if ch in "\\*()\0" else ch for ch in value)


def ps_quote(value):
    """Quote a value as a PowerShell single-quoted string."""
    # PowerShell also treats typographic single quotes as quotes: double them all.
    return "'" + re.sub("(['\u2018\u2019\u201a\u201b])", r"\1\1", value) + "'"


# ---------------------------------------------------------------------------------------------
# Parsers: pure functions over recorded command output


def parse_whoami_sid(text):
    """Return the SID from `whoami /user` output, or ""."""
    match = re.search(r"\bS-1-\d+(?:-\d+)+\b", text or "")
    return match.group(0) if match else ""


def parse_whoami_upn(text):
    """Return the user principal name from `whoami /upn` output, or ""."""
    upn = (text or "").strip()
    return upn if re.fullmatch(r"[^\s@]+@[^\s@]+\.[^\s@]+", upn) else ""


def parse_directory_json(text):
    """Parse ConvertTo-Json output of directory entries into a list of dicts."""
    text = (text or "").lstrip("\ufeff").strip()
    if not text:
        return []
    data = json.loads(text)
    entries = data if isinstance(data, list) else [data]
    if not all(isinstance(entry, dict) for entry in entries):
        raise ValueError("directory output is not a list of objects")
    return [{str(k).lower(): "" if v is None else str(v) for k, v in e.items()} for e in entries]


def parse_console_user(text):
    """Return (domain, account, sid) of the console user from PS_CONSOLE_USER output."""
    try:
        data = json.loads((text or "").lstrip("\ufeff").strip() or "{}")
    except ValueError:
        return None
    user = str(data.get("user") or "") if isinstance(data, dict) else ""
    if not user:
        return None
    domain, _, account = user.rpartition("\\")
    return domain, account, str(data.get("sid") or "")


def parse_dscl(text):
    """Parse `dscl . -read /Users/NAME` output into {attribute: [values]}."""
    attributes, current = {}, None
    for line in (text or "").splitlines():
        if line.startswith(" ") and current:
            # A value with spaces comes on its own indented line below "Key:".
            attributes[current].append(line.strip())
            continue
        line = re.sub(r"^dsAttrType(?:Standard|Native):", "", line)
        key, sep, rest = line.partition(":")
        if not sep or " " in key:  # "No such key: X" and other chatter
            current = None
            continue
        current = key
        attributes[current] = rest.split()
    return attributes


def parse_gecos(passwd_line):
    """Return details from a `getent passwd` line's GECOS field: name, room, work phone, other."""
    parts = (passwd_line or "").strip().split(":")
    if len(parts) < 5:
        return {}
    gecos = (parts[4].split(",") + [""] * 5)[:5]
    name, room, work_phone, _home_phone, other = (part.strip() for part in gecos)
    details = {"display_name": name, "location": room, "phone": work_phone}
    if re.fullmatch(r"[^\s@,]+@[^\s@,]+\.\w+", other):
        details["email"] = other  # some sites keep the mailbox in the "other" field
    return details


def split_full_name(full_name):
    """Split a full name into (first, last): "Last, First" and "First Middle Last" both work."""
    name = re.sub(r"\s*\([^)]*\)\s*$", "", (full_name or "").strip())  # "Pat Lee (Sales)"
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    words = name.split()
    if not words:
        return "", ""
    return words[0], " ".join(words[1:])


def directory_fields(entry):
    """Map one directory entry (AD attribute names) to record fields."""
    return {field: entry.get(attr, "") for attr, field in AD_FIELDS.items() if entry.get(attr)}


# ---------------------------------------------------------------------------------------------
# Collectors: one per operating system, each taking the command runner


def collect_windows_user(run, env):
    """Collect the signed-in Windows user's details: environment, whoami, Active Directory."""
    account, domain = env.get("USERNAME", ""), env.get("USERDOMAIN", "")
    machine = env.get("COMPUTERNAME", "")
    details = {}
    if account.endswith("$") or account.upper() == "SYSTEM":
        # Under an RMM tool the agent runs as SYSTEM: the person is whoever is at the console.
        console = parse_console_user(run_powershell(run, PS_CONSOLE_USER))
        if not console:
            raise AgentError(EXIT_USAGE, "No one is signed in at this PC's console, so there is "
                                         "no user to send. Run the agent while the user is "
                                         "signed in.")
        domain, account, details["sid"] = console
    else:
        details["sid"] = parse_whoami_sid(run(["whoami", "/user", "/fo", "csv", "/nh"],
                                              COMMAND_TIMEOUT))
        details["upn"] = parse_whoami_upn(run(["whoami", "/upn"], COMMAND_TIMEOUT))
    details.update(account=account, domain=domain)
    if domain and domain.upper() != machine.upper():  # a domain account, not a local one
        details.update(read_directory_user(run, account))
    if not details.get("email") and _routable(details.get("upn", "")):
        details["email"] = details["upn"]  # the UPN is usually the mailbox when it is routable
    return details


def read_directory_user(run, account):
    """Read the user's own Active Directory attributes through PowerShell ADSI."""
    search = "(&(objectCategory=person)(objectClass=user)(sAMAccountName=%s))" % (
        ldap_escape(account))
    script = PS_USER.replace("[adsisearcher]'FILTER'", "[adsisearcher]" + ps_quote(search))
    try:
        entries = parse_directory_json(run_powershell(run, script))
    except ValueError:
        return {}  # AD unreachable or odd output: what whoami told us is still worth sending
    if not entries:
        return {}
    details = directory_fields(entries[0])
    if entries[0].get("objectsid"):
        details["sid"] = entries[0]["objectsid"]
    if entries[0].get("userprincipalname"):
        details["upn"] = entries[0]["userprincipalname"]
    return details


def _routable(upn):
    """Tell whether a UPN's suffix looks like a real mail domain (not corp.local)."""
    suffix = upn.rpartition("@")[2].lower()
    return "." in suffix and not suffix.endswith((".local", ".lan", ".internal", ".corp"))


def collect_macos_user(run, account):
    """Collect the signed-in macOS user's details from `dscl` and `id -F`."""
    attrs = parse_dscl(run(["dscl", ".", "-read", "/Users/" + account], COMMAND_TIMEOUT))

    def first(*keys):
        """Return the first value of the first attribute present."""
        for key in keys:
            if attrs.get(key):
                return attrs[key][0] if key != "RealName" else " ".join(attrs[key])
        return ""

    details = {
        "account": account, "display_name": first("RealName"),
        "first_name": first("FirstName"), "last_name": first("LastName"),
        "email": first("EMailAddress"), "phone": first("PhoneNumber", "MobileNumber"),
        "job_title": first("JobTitle"), "department": first("Department"),
        "location": first("Building", "City"),
    }
    if not details["display_name"]:
        details["display_name"] = run(["id", "-F", account], COMMAND_TIMEOUT).strip()
    return details


def collect_linux_user(run, account):
    """Collect the signed-in Linux user's details from the passwd GECOS field."""
    details = parse_gecos(run(["getent", "passwd", account], COMMAND_TIMEOUT))
    details["account"] = account
    return details


def pc_source_key(details, machine):
    """Return the stable key of a PC user: the SID when known, else machine and account."""
    # The SID survives renames; without it machine + account is still stable on one PC.
    domain = details.get("domain") or machine  # a local account's "domain" is the machine
    return details.get("sid") or "pc:%s:%s\\%s" % (machine, domain, details.get("account", ""))


def build_record(details, source, source_key, machine="", os_name=""):
    """Assemble one canonical discovery record from collected details."""
    first, last = details.get("first_name", ""), details.get("last_name", "")
    display = details.get("display_name") or " ".join(p for p in (first, last) if p)
    if not (first or last) and display:
        first, last = split_full_name(display)
    record = dict(details, source=source, source_key=source_key, first_name=first,
                  last_name=last, display_name=display, machine_name=machine, os=os_name,
                  username=details.get("username") or details.get("account", ""))
    return {field: _clean(record.get(field, "")) for field in RECORD_FIELDS}


def network_records(entries):
    """Turn directory entries into "network" records; return (records, skipped count)."""
    records, skipped = [], 0
    for entry in entries:
        if not _is_person_to_enlist(entry):
            skipped += 1
            continue
        details = directory_fields(entry)
        if not details.get("email") and _routable(entry.get("userprincipalname", "")):
            details["email"] = entry["userprincipalname"]
        records.append(build_record(details, "network", entry["objectguid"].lower()))
    return records, skipped


def _is_person_to_enlist(entry):
    """Tell whether a directory entry is an enabled person's account, not a system one."""
    flags = int(entry.get("useraccountcontrol") or 0)
    rid = entry.get("objectsid", "").rpartition("-")[2]
    # The built-in Administrator, Guest, krbtgt and DefaultAccount belong to no person.
    return bool(entry.get("objectguid")) and not (
        entry.get("samaccountname", "").endswith("$") or flags & UAC_DISABLED
        or (flags and not flags & UAC_NORMAL_ACCOUNT) or rid in ("500", "501", "502", "503"))


def _clean(value):
    """Trim a value and drop control characters."""
    return re.sub(r"[\x00-\x1f\x7f]", " ", str(value or "")).strip()


def describe_os(system):
    """Name this PC's operating system in plain words."""
    if system == "Windows":
        version = platform.version()
        build = int(version.split(".")[-1]) if version.split(".")[-1].isdigit() else 0
        name = "Windows 11" if build >= 22000 else "Windows " + platform.release()
        return "%s (%s)" % (name, version)
    if system == "Darwin":
        return "macOS " + platform.mac_ver()[0]
    if hasattr(platform, "freedesktop_os_release"):  # Python 3.10+
        try:
            return platform.freedesktop_os_release().get("PRETTY_NAME", "Linux")
        except OSError:
            pass
    return "%s %s" % (system, platform.release())


def collect_this_user(run, system, env):
    """Collect the signed-in user of this PC as one "pc" record."""
    if system == "Windows":
        details = collect_windows_user(run, env)
        machine = env.get("COMPUTERNAME") or platform.node()
    else:
        account = env.get("USER") or env.get("LOGNAME") or getpass.getuser()
        collect = collect_macos_user if system == "Darwin" else collect_linux_user
        details = collect(run, account)
        machine = socket.gethostname().split(".")[0] or platform.node()
    return build_record(details, "pc", pc_source_key(details, machine), machine,
                        describe_os(system))


def collect_network(run):
    """Enumerate the domain's enabled person accounts as "network" records."""
    script = PS_NETWORK.replace("[adsisearcher]'FILTER'", "[adsisearcher]" + ps_quote(
        NETWORK_FILTER))
    try:
        entries = parse_directory_json(run_powershell(run, script, NETWORK_TIMEOUT))
    except ValueError:
        entries = None
    if not entries:
        raise AgentError(EXIT_USAGE, "Could not read the domain's users from Active Directory. "
                                     "Run --network on a domain-joined PC that can reach a "
                                     "domain controller, signed in with a domain account.")
    return network_records(entries)


# ---------------------------------------------------------------------------------------------
# Talking to the portal


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: following one would resend the token to another address."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        """Raise instead of following."""
        raise AgentError(EXIT_NETWORK, "The portal address redirects to %s. Use that address "
                                       "as --url (or ask for a new agent)." % newurl)


def discovery_endpoint(portal_url):
    """Return the discovery API URL for a portal address, or raise a usage error."""
    url = (portal_url or "").strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AgentError(EXIT_USAGE, "The portal address %r is not a web address: it must "
                                     "start with https://." % portal_url)
    return url if url.endswith(API_PATH) else url + API_PATH


def tls_context(ca_file, insecure):
    """Build the TLS context: verified by default, optionally with an extra CA file."""
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as err:
        raise AgentError(EXIT_USAGE, "Cannot use --ca-file %s: %s" % (ca_file, err)) from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def http_post(endpoint, token, body, settings):
    """POST a JSON body; return (status, headers, raw answer), mapping failures to exit codes."""
    request = urllib.request.Request(endpoint, data=body, method="POST", headers={  # noqa: S310 http(s) only
        "Authorization": "Bearer " + token, "Content-Type": "application/json",
        "Accept": "application/json", "User-Agent": "enlist-agent/%s (python)" % AGENT_VERSION,
    })
    opener = urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=settings["tls"]))
    try:
        with opener.open(request, timeout=settings["timeout"]) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()
    except urllib.error.URLError as err:
        raise connection_error(err.reason, endpoint, settings["timeout"]) from None
    except (OSError, ValueError) as err:  # timeouts and TLS failures after the connection
        raise connection_error(err, endpoint, settings["timeout"]) from None
    except http.client.HTTPException as err:
        raise AgentError(EXIT_SERVER, "The portal's answer was cut off or garbled (%s)."
                         % type(err).__name__) from None


def connection_error(reason, endpoint, timeout):
    """Explain a failure to reach the portal in plain words, with the right exit code."""
    host = urllib.parse.urlsplit(endpoint).netloc
    if isinstance(reason, ssl.SSLCertVerificationError):
        return AgentError(EXIT_TLS, "The portal's certificate is not trusted (%s). If your IT "
                                    "provider uses its own certificate authority, run again with "
                                    "--ca-file pointing to its certificate (PEM)."
                          % (reason.verify_message or reason))
    if isinstance(reason, ssl.SSLError):
        return AgentError(EXIT_TLS, "A secure connection to %s failed (%s). Check that the "
                                    "address starts with the right http:// or https://."
                          % (host, reason))
    if isinstance(reason, socket.gaierror):
        return AgentError(EXIT_NETWORK, "Cannot find %s: check the portal address and that "
                                        "this PC is online." % host)
    if isinstance(reason, ConnectionRefusedError):
        return AgentError(EXIT_NETWORK, "%s refused the connection: check the portal address "
                                        "and port." % host)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return AgentError(EXIT_NETWORK, "%s did not answer within %g seconds." % (host, timeout))
    return AgentError(EXIT_NETWORK, "Cannot reach %s: %s" % (host, reason))


def retry_after_seconds(value):
    """Read a Retry-After header (seconds or an HTTP date) as seconds to wait."""
    value = (value or "").strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return 5  # absent or unreadable: a short, polite pause
    return max(0, int((when - datetime.now(timezone.utc)).total_seconds()))


def post_batch(endpoint, token, records, settings):
    """Send one batch, honouring Retry-After on 429; return the portal's answer."""
    body = json.dumps({"records": records}).encode("utf-8")
    for attempt in range(RETRIES_AFTER_429 + 1):
        status, headers, raw = http_post(endpoint, token, body, settings)
        if status != 429:
            return interpret_answer(status, raw, endpoint)
        wait = retry_after_seconds(headers.get("Retry-After") if headers else None)
        if attempt == RETRIES_AFTER_429 or wait > MAX_RETRY_WAIT:
            break
        time.sleep(wait)
    raise AgentError(EXIT_SERVER, "The portal is busy (too many requests) and asked to wait %s "
                                  "seconds. Nothing more was sent: try again later. %s"
                     % (wait, _portal_error(raw)))


def _portal_error(raw):
    """Return the portal's {"error": ...} message from a raw answer, or ""."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return ""
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def interpret_answer(status, raw, endpoint):
    """Turn the portal's answer into its JSON body (200/422) or an AgentError."""
    if status in (200, 422):
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            data = None
        if (isinstance(data, dict) and isinstance(data.get("counts"), dict)
                and isinstance(data.get("results"), list)):
            return data
        raise AgentError(EXIT_SERVER, "The address answered, but not like an Enlist portal "
                                      "(HTTP %d). Check the portal address." % status)
    message = _portal_error(raw)
    if status in (401, 403):
        raise AgentError(EXIT_TOKEN, message or "The portal refused this agent's token. Ask "
                                                "your IT provider for a new agent.")
    if status in (404, 405):
        raise AgentError(EXIT_NETWORK, "There is no Enlist discovery API at this URL (%s, HTTP "
                                       "%d). Check the portal address." % (endpoint, status))
    if status == 413:
        raise AgentError(EXIT_SERVER, message or "The portal said the upload is too large.")
    raise AgentError(EXIT_SERVER, "The portal had a problem (HTTP %d). %s Try again later."
                     % (status, message))


def send_records(records, settings):
    """Send the records in batches and summarise the portal's answers."""
    counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    results, sent = [], 0
    for start in range(0, len(records), BATCH_SIZE):
        batch = records[start:start + BATCH_SIZE]
        try:
            answer = post_batch(settings["endpoint"], settings["token"], batch, settings)
        except AgentError as err:
            if sent:
                err.outcome.message += " (The first %d users had already been sent.)" % sent
            raise
        sent += len(batch)
        for key in counts:
            counts[key] += int(answer["counts"].get(key) or 0)
        for result in answer["results"]:
            result = dict(result, index=start + int(result.get("index") or 0))
            results.append(result)
    batches = (len(records) + BATCH_SIZE - 1) // BATCH_SIZE
    return summarise(records, counts, results, batches)


def summarise(records, counts, results, batches):
    """Describe the portal's counts and rejections in plain words."""
    noun = "user" if len(records) == 1 else "users"
    where = " in %d batches" % batches if batches > 1 else ""
    if len(records) == 1 and results:
        tally = str(results[0].get("outcome", "done"))
    else:
        tally = ", ".join("%d %s" % (n, k) for k, n in counts.items() if n) or "nothing changed"
    message = "Sent %d %s to Enlist%s: %s." % (len(records), noun, where, tally)
    details = []
    for result in results:
        if result.get("outcome") != "rejected":
            continue
        index = result.get("index", 0)
        record = records[index] if 0 <= index < len(records) else {}
        who = record.get("display_name") or record.get("username") or result.get("source_key")
        details.append("Rejected %s (%s):" % (who, result.get("source_key", "")))
        details += ["  %s: %s" % (e.get("field", "?"), e.get("message", ""))
                    for e in result.get("errors") or [{"field": "?", "message": "no reason"}]]
    code = EXIT_REJECTED if details or counts["rejected"] else EXIT_OK
    return Outcome(code, message, details), {"counts": counts, "results": results}


# ---------------------------------------------------------------------------------------------
# The command line


def parse_args(argv):
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="enlist_agent", epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Send the signed-in user's details from this PC to your IT provider's "
                    "Enlist portal. Shows what will be sent and asks first.")
    parser.add_argument("--url", help="portal address (default: built in, or ENLIST_URL)")
    parser.add_argument("--token", help="discovery token (default: built in, or ENLIST_TOKEN)")
    parser.add_argument("--yes", action="store_true", help="send without asking (RMM tools)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be sent; send "
                                                                "nothing")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the result")
    parser.add_argument("--network", action="store_true", help="send every enabled user of this "
                        "PC's Active Directory domain (domain-joined Windows only)")
    parser.add_argument("--ca-file", help="PEM file of a certificate authority to trust")
    parser.add_argument("--insecure", action="store_true",
                        help="do not check the portal's certificate (testing only)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the "
                                                                    "portal (default 30)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be more than 0 seconds")
    return args


def resolve_settings(args, env):
    """Work out the portal address, token and TLS settings: flags, then environment, then CONFIG."""
    url = args.url or env.get("ENLIST_URL") or CONFIG.get("portal_url") or ""
    token = args.token or env.get("ENLIST_TOKEN") or CONFIG.get("token") or ""
    return {"url": url, "token": token.strip(), "deployment": CONFIG.get("deployment") or "",
            "timeout": args.timeout, "ca_file": args.ca_file, "insecure": args.insecure}


def check_settings(settings):
    """Fail with a usage error unless the portal address and token are known."""
    if not settings["url"] or not settings["token"]:
        missing = " and ".join(n for n, k in (("portal address", "url"), ("token", "token"))
                               if not settings[k])
        raise AgentError(EXIT_USAGE, "No %s configured. Download the agent again from the "
                                     "Enlist portal, or pass --url and --token (or set "
                                     "ENLIST_URL and ENLIST_TOKEN)." % missing)
    settings["endpoint"] = discovery_endpoint(settings["url"])
    settings["tls"] = tls_context(settings["ca_file"], settings["insecure"])
    host = urllib.parse.urlsplit(settings["endpoint"]).hostname or ""
    if settings["insecure"]:
        warn("Warning: --insecure: the portal's certificate is not checked.")
    elif settings["endpoint"].startswith("http:") and host not in ("localhost", "127.0.0.1"):
        warn("Warning: plain http: the token and the user's details travel unencrypted.")


def warn(message):
    """Print a warning on standard error."""
    print(message, file=sys.stderr)


def describe_records(records):
    """Return the lines that show a person what will be sent."""
    if len(records) == 1:
        record = records[0]
        lines = ["This will be sent to Enlist:"]
        lines += ["  %-13s %s" % (field.replace("_", " ") + ":", record.get(field) or "-")
                  for field in RECORD_FIELDS]
        return lines
    lines = ["%d users will be sent to Enlist:" % len(records)]
    for record in records:
        lines.append("  %s <%s> %s" % (record.get("display_name") or "-",
                                       record.get("email") or "no email", record["username"]))
    return lines


def confirm(args, records, settings):
    """Ask before sending; return None to go ahead or the Outcome saying why not."""
    if args.yes:
        return None
    preview = sys.stderr if args.json else sys.stdout
    print("\n".join(describe_records(records)), file=preview)
    if not sys.stdin or not sys.stdin.isatty():
        return Outcome(EXIT_CONFIRM, "Not sent: nobody is here to confirm. Run again with "
                                        "--yes to send without asking (for RMM tools and "
                                        "scripts).")
    target = settings["deployment"] or settings["url"]
    # The question goes where the preview went, so --json output stays pure JSON.
    print("Send this to Enlist (%s)? [y/N] " % target, end="", file=preview, flush=True)
    try:
        answer = input()
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return None
    return Outcome(EXIT_CONFIRM, "Not sent: you answered no.")


def execute(args, run, system, env):
    """Collect, confirm and send; return (outcome, extra JSON data)."""
    if args.network and system != "Windows":
        raise AgentError(EXIT_USAGE, "--network reads Active Directory and only works on a "
                                     "domain-joined Windows PC.")
    settings = resolve_settings(args, env)
    if not args.dry_run:
        check_settings(settings)
    skipped = 0
    if args.network:
        records, skipped = collect_network(run)
    else:
        records = [collect_this_user(run, system, env)]
    data = {"records": records, "skipped": skipped}
    if args.dry_run:
        if not args.json:
            print("\n".join(describe_records(records)))
        return Outcome(EXIT_OK, "Dry run: nothing was sent."), data
    refusal = confirm(args, records, settings)
    if refusal:
        return refusal, data
    outcome, answer = send_records(records, settings)
    if skipped:
        outcome.message += " %d disabled or non-person accounts were skipped." % skipped
    return outcome, dict(answer, skipped=skipped)


def report(outcome, data, as_json):
    """Print the outcome: plain words, or one JSON object."""
    if as_json:
        print(json.dumps(dict(data, exit_code=outcome.exit_code, ok=outcome.exit_code == 0,
                              message=outcome.message, details=outcome.details), indent=2))
        return
    stream = sys.stdout if outcome.exit_code in (EXIT_OK, EXIT_REJECTED) else sys.stderr
    print("\n".join([outcome.message] + ["  " + line for line in outcome.details]), file=stream)


def main(argv=None, run=run_command, system=None, env=None):
    """Run the agent and return its exit code."""
    args = parse_args(argv)
    try:
        outcome, data = execute(args, run, system or platform.system(),
                                os.environ if env is None else env)
    except AgentError as err:
        outcome, data = err.outcome, {}
    except KeyboardInterrupt:
        outcome, data = Outcome(EXIT_CONFIRM, "Stopped: nothing more was sent."), {}
    report(outcome, data, args.json)
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
