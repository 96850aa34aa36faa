"""Second factors: TOTP with backup codes, the sign-in challenge, and step-up."""
