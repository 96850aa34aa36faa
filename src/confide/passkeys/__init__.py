"""Passkeys (WebAuthn): register, name and delete them; sign in with one alone or as MFA."""
