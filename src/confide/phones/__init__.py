"""A user's phone number: verification by SMS code, then SMS sign-in codes (mfa/)."""
