"""What endpoints receive from the notify feature."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from confide.notify.service import Notifications


def get_notifications(request: Request) -> Notifications:
    notifications: Notifications = request.app.state.notify
    return notifications


NotificationsDep = Annotated[Notifications, Depends(get_notifications)]
