"""The imports feature's domain errors."""

from __future__ import annotations

from confide.errors import ConfideError, NotFound


class ImportNotFound(NotFound):
    code, title = "import_not_found", "No such import"


class InvalidImport(ConfideError):
    status, code, title = 422, "invalid_import", "The file is not an export Confide can import"


class ImportTooLarge(ConfideError):
    status, code, title = 413, "import_too_large", "The file is larger than imports may be"


class MessageNotInThread(NotFound):
    code, title = "message_not_found", "No such message in this thread"
