"""The data directory is private: the directory 0700, every file Confide keeps there 0600.

It holds the embedded database (password hashes, every conversation), the generated secret key
and the tool-call log, so no other user of the machine may read it. A directory created by
hand, by an older version or by SQLite itself (0644 files, in a 0755 directory) is narrowed:
the group and world bits are removed, with a warning, when this user owns it; start-up is
refused, naming the path, when it cannot be. The embedded database is narrowed the same way
wherever CONFIDE_DATABASE_URL puts it, with its `-wal`, `-shm` and `-journal` files.

SQLite would create a missing database file 0644 and then gives its `-wal` and `-shm` files
the database file's mode, so the file is created 0600 before SQLite first opens it:
`secure_data_dir(create=True)` does so for the commands that migrate it, and `Database`
(db/engine.py) before each connection, for an app built in-process. Files are narrowed at
start-up; the tool-call log opens its files 0600 itself.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from confide.config import Settings, SettingsError

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = 0o077  # group and world bits
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")

log = logging.getLogger("confide.datadir")


@dataclass(frozen=True, slots=True)
class Exposed:
    """A directory or file other users may access."""

    path: Path
    mode: int
    owner: int
    variable: str

    @property
    def narrowed(self) -> int:
        return self.mode & ~_OTHERS

    @property
    def ours(self) -> bool:
        return self.owner == os.geteuid()

    def problem(self, why: str) -> str:
        return (
            f"{self.variable}: {self.path} is open to other users (mode {self.mode:04o}) "
            f"{why}; make it {self.narrowed:04o}: chmod {self.narrowed:o} {self.path}"
        )


def secure_data_dir(settings: Settings, *, create: bool) -> None:
    """Make the data directory and Confide's files private (see the module docstring).

    `create`: also make a missing data directory (0700) and a missing embedded database file
    (0600). Raises SettingsError, one line per path, for what cannot be made private.
    """
    if os.name != "posix":
        return
    if create:
        try:
            settings.data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            database = settings.sqlite_path
            if database is not None:
                database.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
                create_private_file(database)
        except OSError as exc:
            raise SettingsError(
                [f"CONFIDE_DATA_DIR: cannot create {exc.filename}: {exc.strerror}"]
            ) from None
    problems: list[str] = []
    for item in exposed_paths(settings):
        if not item.ours:
            problems.append(item.problem(f"and belongs to another user (uid {item.owner})"))
            continue
        try:
            os.chmod(item.path, item.narrowed)
        except OSError as exc:
            problems.append(item.problem(f"and cannot be narrowed ({exc.strerror})"))
            continue
        log.warning(
            "narrowed %s from mode %04o to %04o: it was open to other users",
            item.path,
            item.mode,
            item.narrowed,
        )
    if problems:
        raise SettingsError(problems)


def data_dir_problems(settings: Settings) -> list[str]:
    """What other users may access, one line each (`confide config check`); changes nothing."""
    if os.name != "posix":
        return []
    return [
        item.problem("(`confide serve` narrows it when it belongs to this user)")
        for item in exposed_paths(settings)
    ]


def exposed_paths(settings: Settings) -> list[Exposed]:
    """The data directory, the files directly in it and the embedded database's files, where
    other users may access them (symbolic links in the directory are not followed)."""
    exposed: list[Exposed] = []
    data_dir = settings.data_dir
    files: list[Path] = []
    if data_dir.is_dir():
        _check(data_dir, "CONFIDE_DATA_DIR", exposed)
        with os.scandir(data_dir) as entries:
            files.extend(Path(e.path) for e in entries if e.is_file(follow_symlinks=False))
    database = settings.sqlite_path
    if database is not None:
        for path in (database, *(database.with_name(database.name + s) for s in SQLITE_COMPANIONS)):
            if path not in files:
                files.append(path)
    for path in files:
        variable = "CONFIDE_DATA_DIR" if path.parent == data_dir else "CONFIDE_DATABASE_URL"
        _check(path, variable, exposed)
    return exposed


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists (its directory must exist)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def _check(path: Path, variable: str, exposed: list[Exposed]) -> None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(status.st_mode)
    if mode & _OTHERS:
        exposed.append(Exposed(path, mode, status.st_uid, variable))
