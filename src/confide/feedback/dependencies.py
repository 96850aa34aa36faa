"""What endpoints receive from the feedback feature."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from confide.feedback.notices import Feedback


def get_feedback(request: Request) -> Feedback:
    feedback: Feedback = request.app.state.feedback
    return feedback


FeedbackDep = Annotated[Feedback, Depends(get_feedback)]
