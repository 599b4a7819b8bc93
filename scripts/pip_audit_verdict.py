"""Read pip-audit's JSON report: fail on a known vulnerability; say so, and pass, when nothing could be audited.

Usage: pip_audit_verdict.py REPORT.json EXIT_STATUS STDERR_FILE (scripts/checks calls it).
"""

from __future__ import annotations

import json
import sys


def verdict(report_path: str, status: int, errors: str) -> tuple[int, str]:
    """The exit status for the checks and what to print."""
    try:
        with open(report_path) as handle:
            deps = json.load(handle)["dependencies"]
    except (OSError, ValueError, KeyError):
        return 0, (f"pip-audit could not run (exit {status}): {errors[-500:] or 'no report'}.\n"
                   "SKIPPED, not failed: is PyPI reachable from here? Run scripts/checks again where it is.")
    audited = [d for d in deps if not d.get("skip_reason")]
    if not audited:
        return 0, (f"pip-audit reached no vulnerability data: none of the {len(deps)} packages could be looked "
                   "up (PyPI's JSON API is not reachable from here).\nSKIPPED, not failed: run scripts/checks "
                   "where PyPI is reachable before a release.")
    vulnerable = [(d["name"], d["version"], v["id"], v.get("fix_versions") or [])
                  for d in deps for v in d.get("vulns", [])]
    if vulnerable:
        lines = [f"  {name} {version}: {vuln} (fixed in {', '.join(fixes) or 'no release yet'})"
                 for name, version, vuln, fixes in vulnerable]
        lines.append(f"{len(vulnerable)} known vulnerabilities: upgrade, or explain each in "
                     "scripts/pip-audit-ignore.txt.")
        return 1, "\n".join(lines)
    skipped = len(deps) - len(audited)
    return 0, (f"pip-audit: {len(audited)} packages audited, no known vulnerability"
               + (f" ({skipped} could not be looked up)." if skipped else "."))


if __name__ == "__main__":
    with open(sys.argv[3]) as err:
        code, message = verdict(sys.argv[1], int(sys.argv[2]), err.read().strip())
    print(message)
    sys.exit(code)
