"""One-time codes: the SMS code that proves a web voter holds the phone, the signed voter
session that follows it, and casting a vote with a code (``voting.otp.services``)."""
