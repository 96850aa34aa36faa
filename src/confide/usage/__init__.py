"""Usage: each model answer's tokens and latency, each tool call's outcome, and a user's totals."""
