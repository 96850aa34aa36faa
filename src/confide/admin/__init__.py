"""Administration under /api/admin: accounts (status, roles, sessions), roles and their
grants, invitations; and the registration policy that invitations and approval serve."""
