"""Models of the evaluations app; added by the issue that builds it."""
