"""Public pages of the voting app: the vote flow, posters and receipts (``votes``) and the
leaderboards (``leaderboards``)."""
