"""Runs: one agent turn on a thread, from the user's message to the agent's final answer."""
