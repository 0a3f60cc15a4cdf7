"""SMS votes: the keyword grammar (``keywords``) and the inbound handler that decides vote
messages set-based (``handler``), registered with the messaging router by
``VotingConfig.ready()``."""
