"""Two processes sharing Redis, as the revocation tests make them (tests/admin)."""

from tests.admin.test_revocation import loads, two_apps

__all__ = ["loads", "two_apps"]
