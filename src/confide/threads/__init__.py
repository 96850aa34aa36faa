"""Threads: a user's conversations with an agent, stored one message per row."""
