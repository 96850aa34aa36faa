"""The folders feature's domain errors, each with its stable code."""

from __future__ import annotations

from confide.errors import Conflict, NotFound


class FolderNotFound(NotFound):
    code = "folder_not_found"
    title = "No such folder"


class TooManyFolders(Conflict):
    code = "too_many_folders"
    title = "You have as many folders as one account may have"
