"""The memories feature's domain errors, each with its stable code."""

from __future__ import annotations

from confide.errors import Conflict, NotFound, ValidationFailed


class MemoryNotFound(NotFound):
    code = "memory_not_found"
    title = "No such memory"


class MemoryExists(Conflict):
    code = "memory_exists"
    title = "This is already remembered"


class EmptyMemory(ValidationFailed):
    code = "empty_memory"
    title = "A memory needs some text"
