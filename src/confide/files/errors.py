"""The files feature's refusals (each a stable `code`, docs in README "Files")."""

from __future__ import annotations

from confide.errors import ConfideError
from confide.threads.attachments import FileNotFound

__all__ = [
    "FileNotFound",
    "FileTooLarge",
    "StorageQuotaExceeded",
    "UnsupportedFileType",
    "VisionUnsupported",
]


class FileTooLarge(ConfideError):
    status, code, title = 413, "file_too_large", "The file is larger than allowed"


class UnsupportedFileType(ConfideError):
    status, code, title = 415, "unsupported_file_type", "Files of this type are not accepted"


class StorageQuotaExceeded(ConfideError):
    # 507 Insufficient Storage: the request is fine, the user's space is not (a 409 would
    # say the request conflicts with the file's state).
    status, code, title = 507, "storage_quota_exceeded", "Your file storage is full"


class VisionUnsupported(ConfideError):
    status, code, title = 422, "vision_unsupported", "This agent does not accept images"
