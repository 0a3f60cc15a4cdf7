"""Models of the voting app; added by the issue that builds it."""
