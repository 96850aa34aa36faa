"""Brute-force protection (per-account lockout, per-IP blocks) and admin IP rules."""
