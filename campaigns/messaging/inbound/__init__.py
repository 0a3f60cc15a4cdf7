"""Inbound SMS: text normalisation (``text``), the gateways' signature checks and payloads
(``gateways``), and the router that claims, offers to the registered handlers and records
every message (``router``). The webhook views are ``campaigns.messaging.api``."""
