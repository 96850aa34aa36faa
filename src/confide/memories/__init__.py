"""Memories: durable facts about a user, extracted from their messages after each run and
given to the agent in the system prompt of their later runs (docs/architecture.md, "Memory")."""
