"""Identity: outlets, users and roles; signs access tokens."""
