"""The discovery agents a technician downloads, with the portal address and token built in.

Each agent file carries exactly one config line ending in "# filled in by the portal". Only that
line is replaced, and every value is written as an escaped literal of the agent's language, so
no value can break out of its string.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

AGENT_DIR = Path(__file__).resolve().parent.parent / "agent"
AGENT_FILES = {"python": "enlist_agent.py", "powershell": "enlist-agent.ps1"}
CONFIG_MARKER = "# filled in by the portal"
# The optional \r keeps a file checked out with Windows line endings configurable.
_PYTHON_LINE = re.compile(r"^CONFIG = \{.*\}  # filled in by the portal(\r?)$", re.MULTILINE)
_POWERSHELL_LINE = re.compile(r"^\$Config = @\{.*\}  # filled in by the portal(\r?)$",
                              re.MULTILINE)
# PowerShell ends a single-quoted string at typographic single quotes too.
_PS_QUOTES = re.compile("(['\u2018\u2019\u201a\u201b])")
# Line breaks of every kind, and other control characters, have no place in one config line.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def agent_source(kind: str) -> str:
    """Return the unconfigured source of the "python" or "powershell" agent."""
    if kind not in AGENT_FILES:
        raise ValueError(f"unknown agent kind {kind!r}: choose one of {', '.join(AGENT_FILES)}")
    return (AGENT_DIR / AGENT_FILES[kind]).read_text(encoding="utf-8").lstrip("\ufeff")


def configure_python_agent(source_text: str, portal_url: str, token: str, deployment: str) -> str:
    """Return the Python agent with its CONFIG line set to these values."""
    values = _checked(portal_url, token, deployment)
    # json.dumps with ensure_ascii yields only ASCII string literals Python reads identically.
    config = json.dumps({"portal_url": values[0], "token": values[1], "deployment": values[2]})
    return _replace_line(source_text, _PYTHON_LINE, f"CONFIG = {config}  {CONFIG_MARKER}")


def configure_powershell_agent(source_text: str, portal_url: str, token: str,
                               deployment: str) -> str:
    """Return the PowerShell agent with its $Config line set to these values."""
    url, secret, name = (_ps_literal(v) for v in _checked(portal_url, token, deployment))
    line = f"$Config = @{{ PortalUrl = {url}; Token = {secret}; Deployment = {name} }}  " \
           f"{CONFIG_MARKER}"
    text = _replace_line(source_text.lstrip("\ufeff"), _POWERSHELL_LINE, line)
    # Windows PowerShell 5.1 reads a file without a byte order mark in the ANSI code page.
    return text if text.isascii() else "\ufeff" + text


def configure_agent(kind: str, portal_url: str, token: str, deployment: str) -> str:
    """Return the named agent, read from the package and configured."""
    configure = configure_python_agent if kind == "python" else configure_powershell_agent
    return configure(agent_source(kind), portal_url, token, deployment)


def agent_filename(kind: str) -> str:
    """Return the file name the technician's download should carry."""
    agent_source(kind)  # validates the kind
    return AGENT_FILES[kind]


def _checked(portal_url: str, token: str, deployment: str) -> tuple[str, str, str]:
    """Refuse values that cannot be written safely on one config line."""
    for label, value in (("portal URL", portal_url), ("token", token),
                         ("deployment", deployment)):
        if not isinstance(value, str):
            raise ValueError(f"the {label} must be text")
        if _FORBIDDEN.search(value):
            raise ValueError(f"the {label} must not contain line breaks or control characters")
    parts = urllib.parse.urlsplit(portal_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("the portal URL must start with https:// (or http://)")
    if not token:
        raise ValueError("the token must not be empty")
    return portal_url, token, deployment


def _ps_literal(value: str) -> str:
    """Write a value as a PowerShell single-quoted string literal."""
    return "'" + _PS_QUOTES.sub(r"\1\1", value) + "'"


def _replace_line(source_text: str, pattern: re.Pattern, line: str) -> str:
    """Replace the one config line matched by pattern, refusing zero or several."""
    matches = pattern.findall(source_text)
    if len(matches) != 1:
        raise ValueError(f"expected exactly one config line in the agent, found {len(matches)}")
    # A function as replacement keeps backslashes in the values literal.
    return pattern.sub(lambda match: line + match.group(1), source_text, count=1)
