"""What other features hear of approvals: the channels (feedback/) tell the user and, once an
approval is answered anywhere, show it answered everywhere else."""

from __future__ import annotations

from typing import Protocol

from confide.approvals.schemas import ApprovalOut


class ApprovalListener(Protocol):
    async def requested(self, approvals: list[ApprovalOut]) -> None:
        """A run paused on these (stored). Quick (queue a job); never raises into the run."""

    async def resolved(self, approval: ApprovalOut) -> None:
        """It was answered (stored), on `approval.channel`."""
