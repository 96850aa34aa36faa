"""A user's own data: the export (`GET /api/me/export`), deleting an account (the user's own,
or an administrator's), and the retention of idle threads (docs/security.md, "Export" and
"Deleting an account")."""
