"""Files: uploads, encrypted at rest, and their attachment to messages (issue 14)."""
