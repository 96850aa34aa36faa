"""How user content is kept at rest."""
