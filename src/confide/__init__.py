"""Confide: a self-hosted server for multi-user AI agent chat."""

__version__ = "0.1.0"
