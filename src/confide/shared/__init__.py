"""What the processes of one Confide deployment share (docs/architecture.md, "Processes")."""
