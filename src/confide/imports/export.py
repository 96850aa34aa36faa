"""`GET /api/threads/{id}/export`: one thread as Markdown (a path, to read) or JSON (the Confide
format, confide_format.py: a path, or with `all` every branch, to import again)."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from confide.db.base import utcnow
from confide.imports import repository
from confide.imports.confide_format import ExportedMessage, ExportedThreadHead, ThreadExport
from confide.imports.errors import MessageNotInThread
from confide.storage.codec import Vault
from confide.threads import paths
from confide.threads.models import Thread
from confide.threads.schemas import MessageOut
from confide.threads.service import message_out, open_title

FILENAME_LENGTH = 80
_UNSAFE = re.compile(r"[^\w .,()+-]+")


async def thread_export(
    db: AsyncSession,
    vault: Vault,
    thread: Thread,
    *,
    path: uuid.UUID | None,
    every_branch: bool,
) -> ThreadExport:
    """The thread in the Confide format: the path through `path` (by default the active one)
    or, `every_branch`, all of its messages (the active path named by `active_leaf_id`)."""
    leaf = thread.active_leaf_id
    if path is not None:
        leaf = await paths.resolve_leaf(db, thread_id=thread.id, message_id=path)
        if leaf is None:
            raise MessageNotInThread
    rows: Sequence[object] = (
        await repository.thread_messages(db, thread_id=thread.id)
        if every_branch
        else await paths.whole_path(db, thread_id=thread.id, leaf_id=leaf)
    )
    codec = await vault.codec(db, thread.owner_id)
    messages = [message_out(codec, row) for row in rows]
    return ThreadExport(
        exported_at=utcnow(),
        thread=ExportedThreadHead(
            title=None if thread.title is None else open_title(codec, thread.id, thread.title),
            agent_id=thread.agent_id,
            created_at=thread.created_at,
        ),
        active_leaf_id=None if leaf is None else str(leaf),
        messages=[exported_message(m) for m in messages],
    )


def exported_message(m: MessageOut) -> ExportedMessage:
    return ExportedMessage(
        id=str(m.id),
        parent_id=None if m.parent_id is None else str(m.parent_id),
        role=m.role,
        content=m.content,
        tool_calls=m.tool_calls,
        tool_call_id=m.tool_call_id,
        name=m.name,
        interrupted=m.interrupted,
        created_at=m.created_at,
    )


def markdown(export: ThreadExport, *, agent_name: str) -> str:
    """A path as a document to read: the title, then each message under who said it and
    when, tool calls as fenced JSON followed by their results."""
    title = export.thread.title or "Untitled thread"
    when = _time(export.exported_at or utcnow())
    lines = [f"# {title}", "", f"_Exported from Confide on {when}, a thread with {agent_name}._"]
    for m in export.messages:
        lines.append("")
        if m.role == "tool":
            lines.append(f"**Result of `{m.name or 'tool'}`** ({m.tool_call_id}):")
            lines += ["", fenced(m.content or "", "text")]
            continue
        who = {"user": "You", "assistant": agent_name, "system": "System"}[m.role]
        lines.append(f"**{who}:** _{_time(m.created_at)}_" if m.created_at else f"**{who}:**")
        if m.content:
            lines += ["", m.content]
        if m.interrupted:
            lines += ["", "_(stopped before the end)_"]
        for call in m.tool_calls or []:
            lines += ["", f"Tool call `{call.function.name}` ({call.id}):", ""]
            lines.append(fenced(_pretty(call.function.arguments), "json"))
    return "\n".join(lines) + "\n"


def fenced(text: str, language: str) -> str:
    """`text` in a code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _pretty(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        return arguments


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def content_disposition(title: str | None, extension: str) -> str:
    """An attachment header naming the file after the thread: an ASCII `filename` any client
    reads and the exact name in `filename*` (RFC 6266), neither with a path, quote or control
    character in it."""
    name = unicodedata.normalize("NFKC", title or "")
    name = " ".join(_UNSAFE.sub(" ", name).split()).strip(" .")[:FILENAME_LENGTH] or "thread"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = " ".join(ascii_name.split()).strip(" .") or "thread"
    return (
        f'attachment; filename="{ascii_name}.{extension}"; '
        f"filename*=UTF-8''{quote(name)}.{extension}"
    )
