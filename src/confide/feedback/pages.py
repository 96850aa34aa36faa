"""The HTML pages an email link opens: small, self-contained, no script, a strict policy.

They show what the user needs to answer (the tool and its arguments, or the question) and
nothing of the account: not the address, the thread's title or its messages."""

from __future__ import annotations

import base64
import hashlib
import html

from fastapi.responses import HTMLResponse

from confide.approvals.schemas import ApprovalOut
from confide.feedback.slack import outcome_text, pretty_arguments

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2328}pre{background:#f6f8fa;padding:.75rem;overflow:auto;white-space:pre-wrap;"
    "word-break:break-word}textarea{width:100%;box-sizing:border-box}label{display:block;"
    "margin:.5rem 0}button{font:inherit;padding:.4rem 1rem;margin-right:.5rem}"
    ".muted{color:#59636e}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# No script, no frames, nothing loaded from elsewhere; the form posts back here only.
PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}


def page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        '<meta name=robots content="noindex">'
        f"<title>{html.escape(title)} · Confide</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=PAGE_HEADERS)


def _p(text: str, cls: str = "") -> str:
    attribute = f' class="{cls}"' if cls else ""
    return f"<p{attribute}>{html.escape(text)}</p>"


def confirmation(approval: ApprovalOut) -> HTMLResponse:
    """What waits, and the form that answers it (nothing changes until it is sent)."""
    expires = approval.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    reason = (
        '<label>Reason (optional)<textarea name="reason" rows="2" maxlength="2000">'
        "</textarea></label>"
    )
    if approval.kind == "question":
        if approval.choices:
            answer = "".join(
                f'<label><input type="radio" name="answer" value="{html.escape(choice)}"'
                f"{' checked' if index == 0 else ''}> {html.escape(choice)}</label>"
                for index, choice in enumerate(approval.choices)
            )
        else:
            answer = (
                '<label>Your answer<textarea name="answer" rows="4" maxlength="10000">'
                "</textarea></label>"
            )
        body = (
            _p("An agent asks you:")
            + f"<pre>{html.escape(approval.question or '')}</pre>"
            + f'<form method="post">{answer}'
            + '<button type="submit" name="decision" value="approve">Send answer</button>'
            + '<button type="submit" name="decision" value="deny">Decline</button></form>'
        )
        title = "An agent asks you a question"
    else:
        body = (
            _p(
                f"An agent waits for your approval to call the tool {approval.tool}"
                + (f" (server {approval.server_id})" if approval.server_id else "")
                + " with these arguments:"
            )
            + f"<pre>{html.escape(pretty_arguments(approval.arguments))}</pre>"
            + f'<form method="post">{reason}'
            + '<button type="submit" name="decision" value="approve">Approve</button>'
            + '<button type="submit" name="decision" value="deny">Deny</button></form>'
        )
        title = "Approve this tool call?"
    return page(title, body + _p(f"This link works once, until {expires}.", "muted"))


def answered(approval: ApprovalOut, *, status: int = 410) -> HTMLResponse:
    """The approval has its answer (here, elsewhere, or by time-out)."""
    if approval.status == "expired":
        return page(
            "This request has expired", _p("No answer came in time: it was denied."), status=status
        )
    if approval.status == "cancelled":
        return page(
            "This request was cancelled", _p("The run it belonged to ended."), status=status
        )
    return page(
        "Already answered",
        _p(f"{outcome_text(approval)}. Nothing more to do here."),
        status=status,
    )


def done(approval: ApprovalOut) -> HTMLResponse:
    """The answer was taken."""
    return page(
        f"{outcome_text(approval)}", _p("Thank you: the agent goes on. You can close this page.")
    )


def expired() -> HTMLResponse:
    return page(
        "This link has expired",
        _p("Answer in Confide instead, if the request still waits."),
        status=410,
    )


def invalid_answer(detail: str) -> HTMLResponse:
    return page(
        "That answer does not fit",
        _p(detail) + _p("Go back, change it and send it again.", "muted"),
        status=422,
    )


def not_found() -> HTMLResponse:
    return page(
        "This link is not valid",
        _p("It may be mistyped or cut short. Answer in Confide instead."),
        status=404,
    )
