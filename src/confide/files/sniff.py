"""What an upload is, read from its bytes: never from the name or type the client sent.

A PDF starts `%PDF-`; PNG, JPEG, GIF and WebP by their magic numbers; text is valid UTF-8
without NUL bytes. Anything else is refused. An HTML page or an SVG image is text here (it
goes to the model as text and is served as `text/plain`), so no upload is ever served as a
type a browser would render or run. The name is only displayed and offered for download:
`safe_name` keeps its last path part, without control characters, capped in length.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

FileKind = Literal["text", "pdf", "image"]
KINDS: tuple[FileKind, ...] = ("text", "pdf", "image")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
CONTENT_TYPES = ("text/plain", "text/markdown", "application/pdf", *IMAGE_TYPES)
NAME_LENGTH = 200
DEFAULT_NAME = "file"
_MARKDOWN = (".md", ".markdown")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: FileKind
    content_type: str


def sniff(data: bytes, *, name: str) -> Sniffed | None:
    """The kind and content type of `data` (None: not a type Confide takes). The name only
    tells Markdown from plain text, once the bytes are known to be text."""
    if data.startswith(b"%PDF-"):
        return Sniffed("pdf", "application/pdf")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png")
    if data.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg")
    if data.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("image", "image/gif")
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return Sniffed("image", "image/webp")
    if text_of(data) is not None:
        markdown = name.lower().endswith(_MARKDOWN)
        return Sniffed("text", "text/markdown" if markdown else "text/plain")
    return None


def text_of(data: bytes) -> str | None:
    """The text of UTF-8 bytes without NULs (a leading BOM dropped); None for anything else."""
    if b"\x00" in data:
        return None
    try:
        return data.removeprefix(_UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError:
        return None


def allowed(sniffed: Sniffed, types: Iterable[str]) -> bool:
    """Whether CONFIDE_FILE_TYPES (kinds or content types) lets this file in."""
    wanted = set(types)
    return sniffed.kind in wanted or sniffed.content_type in wanted


def kind_of(content_type: str) -> FileKind:
    if content_type.startswith("text/"):
        return "text"
    return "pdf" if content_type == "application/pdf" else "image"


def accepted_types(types: Iterable[str]) -> list[str]:
    """The content types CONFIDE_FILE_TYPES lets in."""
    wanted = set(types)
    return [t for t in CONTENT_TYPES if t in wanted or kind_of(t) in wanted]


def check_file_types(values: list[str]) -> list[str]:
    """CONFIDE_FILE_TYPES, normalised; a ValueError for a value that is neither a kind nor a
    content type Confide knows."""
    cleaned = [value.strip().lower() for value in values if value.strip()]
    unknown = [value for value in cleaned if value not in KINDS and value not in CONTENT_TYPES]
    if unknown:
        raise ValueError(
            f"unknown file types {', '.join(unknown)}; use kinds ({', '.join(KINDS)}) or "
            f"content types ({', '.join(CONTENT_TYPES)})"
        )
    return cleaned


def safe_name(raw: str | None) -> str:
    """A display name from the client's: the last part of any path (`/` or `\\`), control
    characters and surrounding dots and spaces dropped, at most NAME_LENGTH characters."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _CONTROL.sub("", name).strip().strip(".").strip()
    if len(name) > NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: NAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:NAME_LENGTH]
    return name or DEFAULT_NAME
