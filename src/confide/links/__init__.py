"""Share links: read-only public snapshots of a thread's path, at `/s/<token>`."""
