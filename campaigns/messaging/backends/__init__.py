"""SMS backends, chosen by ``SMS_BACKEND`` (see ``campaigns.messaging.sender``)."""
