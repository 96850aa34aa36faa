"""Database engine, session dependency (the one commit point), base model and migrations."""
