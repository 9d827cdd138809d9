"""Typed errors. Each message says what went wrong and what to do about it."""

from __future__ import annotations

__all__ = ["ContractError", "LinkageError", "NotFoundError", "ScenarioError"]


class LinkageError(Exception):
    """Base class for every error linkage raises on purpose."""


class ContractError(LinkageError):
    """Input that breaks the data contract as a whole (missing table, file or column)."""


class ScenarioError(LinkageError):
    """An unknown or invalid simulation scenario."""


class NotFoundError(LinkageError):
    """An id, account or entity that is not in the result."""
