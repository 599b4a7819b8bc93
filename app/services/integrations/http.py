"""The HTTP base both integration clients share: one session, timeouts, retries, plain errors.

Credentials travel only in session headers: no message, log line or repr built here ever
contains a header, so keys and tokens cannot leak through an exception shown on a page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

log = logging.getLogger(__name__)

OnWait = Callable[[float, str], None]

# Kinds of failure the callers branch on; the message is always fit to show a technician.
AUTH, NOT_FOUND, NETWORK, RATE_LIMITED, INVALID, SERVER, UNEXPECTED = (
    "auth", "not_found", "network", "rate_limited", "invalid", "server", "unexpected")

_RETRYABLE_STATUS = {502, 503, 504}
_INVALID_STATUS = {400, 409, 422}


class IntegrationError(Exception):
    """A ConnectWise or Zendesk call that failed, worded for the technician."""

    def __init__(self, message: str, *, kind: str, status: int | None = None,
                 detail: str | None = None, body: object = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.detail = detail  # the service's own words, when it gave any
        self.body = body  # the decoded error body, for callers that branch on an error code

    def __repr__(self) -> str:
        return f"IntegrationError({self.message!r}, kind={self.kind!r}, status={self.status!r})"


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for a service and how often to try again."""

    attempts: int = 3  # network failures and 502/503/504: tries in all
    backoff: float = 0.5  # seconds before the 2nd try, doubled for each next one
    rate_limit_retries: int = 5
    default_rate_wait: float = 5.0  # a 429 without a usable Retry-After
    max_wait: float = 60.0  # never sleep longer than this on one 429, whatever the server asks
    timeout: tuple[float, float] = (5.0, 30.0)  # (connect, read) seconds
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)


@dataclass(frozen=True)
class ServiceProfile:
    """What the shared session needs to know about one service to word its failures."""

    name: str  # "ConnectWise", "Zendesk"
    error_text: Callable[[requests.Response], str | None]
    auth_message: Callable[[int, str | None], str]


def retry_after_seconds(response: requests.Response) -> float | None:
    """The wait a 429 asks for, in seconds: a number or an HTTP date; None when unusable."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ApiSession:
    """One requests.Session for one client, with the retry and error rules of this package."""

    def __init__(self, profile: ServiceProfile, headers: dict[str, str], *,
                 policy: RetryPolicy | None = None, on_wait: OnWait | None = None):
        self.profile = profile
        self.policy = policy or RetryPolicy()
        self.on_wait = on_wait
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", **headers})

    def __repr__(self) -> str:
        return f"ApiSession({self.profile.name!r})"

    def close(self) -> None:
        """Release the pooled connections."""
        self.session.close()

    def request(self, method: str, url: str, *, params=None, json=None, headers=None,
                expect_json: bool = True):
        """Send one call with retries; the decoded JSON body (or the response) on success."""
        response = self._send_with_retries(method, url, params=params, json=json,
                                           headers=headers)
        if response.status_code >= 400:
            raise self._error_for(response, url)
        if not expect_json:
            return response
        return self.decode(response)

    def get(self, url: str, **kwargs):
        """A GET through request()."""
        return self.request("GET", url, **kwargs)

    def next_page_url(self, url: str | None, base_url: str) -> str | None:
        """A next-page link, refused when it points elsewhere: it would receive our keys."""
        if url and urlsplit(url).netloc.lower() != urlsplit(base_url).netloc.lower():
            raise IntegrationError(
                f"{self.profile.name} sent a next-page link to another host ({_host(url)}); "
                "Enlist did not follow it.", kind=UNEXPECTED)
        return url

    def _send_with_retries(self, method: str, url: str, **kwargs) -> requests.Response:
        """Retry network failures and 5xx gateways with backoff, 429s after their wait."""
        failures = rate_limited = 0
        idempotent = method.upper() in ("GET", "HEAD")
        while True:
            try:
                response = self.session.request(method, url, timeout=self.policy.timeout, **kwargs)
            except requests.RequestException as exc:
                failures += 1
                # A POST whose request may have arrived is not sent twice: it could create twice.
                if failures >= self.policy.attempts or not (idempotent or _never_sent(exc)):
                    raise self._network_error(url, exc, failures) from None
                self._backoff(failures, f"{self.profile.name} did not answer, trying again")
                continue
            log.debug("%s %s -> %s", method, urlsplit(url).path, response.status_code)
            if response.status_code == 429:
                rate_limited += 1
                if rate_limited > self.policy.rate_limit_retries:
                    raise self._rate_limited_error(rate_limited - 1)
                self._wait(self._rate_wait(response), f"{self.profile.name} rate limit")
                continue
            if response.status_code in _RETRYABLE_STATUS and idempotent:
                failures += 1
                if failures < self.policy.attempts:
                    self._backoff(failures, f"{self.profile.name} is busy, trying again")
                    continue
            return response

    def _rate_wait(self, response: requests.Response) -> float:
        """Honour Retry-After, capped, so one odd header cannot stall a job for an hour."""
        asked = retry_after_seconds(response)
        wait = self.policy.default_rate_wait if asked is None else asked
        return min(wait, self.policy.max_wait)

    def _backoff(self, failures: int, reason: str) -> None:
        """Sleep the exponential backoff for the given number of failures so far."""
        self._wait(min(self.policy.backoff * 2 ** (failures - 1), self.policy.max_wait), reason)

    def _wait(self, seconds: float, reason: str) -> None:
        """Tell the caller why we pause (a job shows it), then pause."""
        if self.on_wait is not None:
            self.on_wait(seconds, reason)
        self.policy.sleep(seconds)

    def decode(self, response: requests.Response):
        """The JSON body, or a plain error when a proxy or login page answered instead."""
        url = response.url
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise IntegrationError(
                f"{self.profile.name} at {_host(url)} answered with something that is not JSON "
                f"(HTTP {response.status_code}). Check the address.",
                kind=UNEXPECTED, status=response.status_code) from None

    def _network_error(self, url: str, exc: Exception, tries: int) -> IntegrationError:
        """A failure that names the host and the cause, never the request headers."""
        if isinstance(exc, requests.exceptions.SSLError):
            cause = "its TLS certificate was refused"
        elif isinstance(exc, requests.exceptions.Timeout):
            cause = "it did not answer in time"
        elif isinstance(exc, requests.exceptions.ConnectionError):
            cause = "the connection failed (host unknown, refused or unreachable)"
        else:
            cause = "the request could not be sent"
        attempts = f"after {tries} attempts" if tries > 1 else "(not retried)"
        return IntegrationError(
            f"Could not reach {self.profile.name} at {_host(url)} {attempts}: {cause}.",
            kind=NETWORK)

    def _rate_limited_error(self, waits: int) -> IntegrationError:
        """The failure after too many 429s in a row."""
        return IntegrationError(
            f"{self.profile.name} kept answering 'too many requests' after {waits} waits. "
            "Try again in a few minutes.", kind=RATE_LIMITED, status=429)

    def _error_for(self, response: requests.Response, url: str) -> IntegrationError:
        """Turn an HTTP error status into an IntegrationError of the right kind."""
        status, name = response.status_code, self.profile.name
        extra = {"status": status, "detail": self.profile.error_text(response),
                 "body": json_body(response)}
        if status in (401, 403):
            return IntegrationError(self.profile.auth_message(status, extra["detail"]),
                                    kind=AUTH, **extra)
        if status == 404:
            return IntegrationError(f"{name} found nothing at {urlsplit(url).path} (404).",
                                    kind=NOT_FOUND, **extra)
        if status in _INVALID_STATUS:
            return IntegrationError(
                f"{name} refused the request: {extra['detail'] or f'HTTP {status}'}",
                kind=INVALID, **extra)
        if status >= 500:
            return IntegrationError(f"{name} at {_host(url)} had a server error ({status}). "
                                    "Try again later.", kind=SERVER, **extra)
        return IntegrationError(f"{name} answered HTTP {status} unexpectedly.",
                                kind=UNEXPECTED, **extra)


def _never_sent(exc: Exception) -> bool:
    """True when the connection itself failed, so the server cannot have seen the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError) or not exc.args:
        return False
    reason = getattr(exc.args[0], "reason", exc.args[0])  # urllib3's MaxRetryError wraps it
    return isinstance(reason, NewConnectionError)


def _host(url: str) -> str:
    """The host (and port) of a URL, for messages."""
    return urlsplit(url).netloc or url


def sentences(parts) -> str | None:
    """Join a service's messages as sentences: "A. B." rather than "A.; B"."""
    texts = [str(p).strip() for p in parts if p and str(p).strip()]
    return " ".join(t if t.endswith((".", "!", "?")) else t + "." for t in texts) or None


def json_body(response: requests.Response):
    """The decoded JSON of an error response, or None for a text or empty body."""
    try:
        return response.json()
    except ValueError:
        return None
