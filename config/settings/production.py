"""Production: requires its environment and tightens security. No defaults for secrets."""

import os

os.environ["DEBUG"] = "false"

from .base import *

# Every secret must come from the environment; base.py already refuses a missing one.
DATABASES["default"] = env.db("DATABASE_URL")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# A live contest may run on a server at the venue, on a LAN with no internet and no TLS
# certificate: VENUE_PLAIN_HTTP=true serves it on plain http:// (cookies without the Secure
# flag, no HTTPS redirect, no HSTS), or the judges' tablets could never keep a session.
VENUE_PLAIN_HTTP = env.bool("VENUE_PLAIN_HTTP", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not VENUE_PLAIN_HTTP)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = not VENUE_PLAIN_HTTP
CSRF_COOKIE_SECURE = not VENUE_PLAIN_HTTP
SECURE_HSTS_SECONDS = (
    0 if VENUE_PLAIN_HTTP else env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
