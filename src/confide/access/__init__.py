"""Who may do what: the permission registry, roles (in the database, with one parent each),
the roles each user holds, and the one dependency every route declares (`require`)."""
