"""Domain exceptions the HTTP layer maps to responses."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses, with a message for the technician."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The object does not exist (or is not visible to the caller)."""

    status = 404


class Conflict(DomainError):
    """The request clashes with the current state (e.g. a user already in the cloud)."""

    status = 409


class ValidationFailed(DomainError):
    """A record has errors; problems lists them field by field."""

    status = 422

    def __init__(self, problems, message: str = "Some fields need fixing."):
        super().__init__(message)
        self.problems = list(problems)

    def by_field(self) -> dict[str, list]:
        """The problems grouped by field name."""
        grouped: dict[str, list] = {}
        for problem in self.problems:
            grouped.setdefault(problem.field, []).append(problem)
        return grouped
