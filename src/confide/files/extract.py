"""The text a model reads from an upload: UTF-8 as it is, a PDF's through pypdf.

pypdf is pure Python and CPU-bound, so a PDF is read in a worker thread (the event loop goes
on serving), and only its first MAX_PDF_PAGES pages and MAX_TEXT_CHARS characters are kept.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass

from pypdf import PdfReader

from confide.errors import ConfideError
from confide.files.sniff import text_of

MAX_PDF_PAGES = 500
MAX_TEXT_CHARS = 2_000_000

log = logging.getLogger("confide.files")


class UnreadablePdf(ConfideError):
    status, code, title = 422, "unreadable_pdf", "The PDF cannot be read"


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    pages: int | None = None

    @property
    def lines(self) -> int:
        return line_count(self.text)


def line_count(text: str) -> int:
    """Lines as an editor counts them: a last line without a newline counts too."""
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def text_file(data: bytes) -> Extracted:
    text = text_of(data)
    if text is None:  # sniff.py let it in as text: it is
        raise ValueError("not UTF-8 text")
    return Extracted(text.replace("\r\n", "\n")[:MAX_TEXT_CHARS])


async def pdf_file(data: bytes) -> Extracted:
    """The PDF's text, page after page (a page with none adds nothing)."""
    return await asyncio.to_thread(_read_pdf, data)


def _read_pdf(data: bytes) -> Extracted:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadablePdf("The PDF is protected by a password.")
        pages = len(reader.pages)
        texts: list[str] = []
        size = 0
        for page in reader.pages[:MAX_PDF_PAGES]:
            text = (page.extract_text() or "").strip("\n")
            texts.append(text)
            size += len(text) + 1
            if size >= MAX_TEXT_CHARS:
                break
    except UnreadablePdf:
        raise
    except Exception as exc:  # a hostile file may break the parser anywhere: it is refused
        log.info("an uploaded PDF could not be read: %s", exc)
        raise UnreadablePdf("The PDF is damaged or not one Confide can read.") from None
    text = "\n".join(t for t in texts if t)
    return Extracted(text[:MAX_TEXT_CHARS], pages=pages)
