"""SMS backends, chosen by ``SMS_BACKEND`` (see ``voting.sms``)."""
