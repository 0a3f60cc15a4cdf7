"""Demo data of the voting app: a million realistic votes for the demo campaign's first
stage (``generation`` makes the rows, ``seeding`` writes them, tallies, publishes, recounts)."""
