"""Inbound SMS: the keyword grammar (``keywords``), the set-based batch ingest (``ingest``)
and the gateway adapters that feed it (``webhooks``). See each module's docstring."""
