"""Who executes a run: each process's id, written on the runs it holds (`runs.worker_id`).

`<host>:<pid>:<token>`. The token tells two lives of one process id apart (a container's
process is pid 1 every time it starts), so a process can tell at once, without waiting for a
lease to run out, that a run was held by a process of its own host that no longer exists.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    host: str
    pid: int
    token: str

    @classmethod
    def current(cls) -> ProcessIdentity:
        return cls(host=socket.gethostname(), pid=os.getpid(), token=secrets.token_hex(4))

    @property
    def worker_id(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    def knows_gone(self, worker_id: str) -> bool:
        """True when `worker_id` names a process of this host that is certainly not running:
        its pid is free, or is this process's under another token."""
        parts = worker_id.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return False
        host, pid, token = parts[0], int(parts[1]), parts[2]
        if host != self.host:
            return False
        if pid == self.pid:
            return token != self.token
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False
