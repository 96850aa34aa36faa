"""Feedback over channels: a waiting run's user is told by email and Slack (in the order they
chose, falling back from one to the next), and may answer there; the web app is always on."""
