"""Complete settings for every environment.

With no environment variables at all this runs the embedded default: a SQLite file, a
Celery broker on the filesystem and a local-memory cache, so a fresh machine needs no
servers. The environment is read here and only here, through one ``environ.Env``.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# GENERAL
# ------------------------------------------------------------------------------
BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# A development key exists only for DEBUG; anything else must bring its own secret.
_DEV_SECRET_KEY = "dev-only-insecure-key-3c1b7f0d9a8e4b2c6f5d1e0a9b8c7d6e5f4a3b2c1d0e"  # noqa: S105 -- used only when DEBUG
SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

TIME_ZONE = "Asia/Shanghai"
USE_TZ = True
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASES
# ------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file in the embedded default. Without an
    # immediate write lock, WAL and a generous busy timeout they deadlock on upgrades
    # from read to write locks ("database is locked").
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    # Before staff: staff.admin_lockout replaces axes' admin of login attempts.
    "axes",
    "staff",
    "campaigns",
    "voting",
    "evaluations",
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and JSON compressed for phones on slow data (a polled board is mostly repeated
    # markup: ~49 kB becomes a few kB). Whitenoise serves static files precompressed itself.
    # Django's GZip pads each response at random against BREACH, and CSRF tokens are masked.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the locale (its refusals are translated), before anything that looks data up.
    "config.middleware.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused for a lockout into staff.lockout's page.
    "axes.middleware.AxesMiddleware",
]

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# django-axes checks every authenticate() call that carries a request: a locked account or
# IP gets no further than this backend (staff.lockout documents the reusable check).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout per account and, separately, per client IP, counted in the database (not the
# cache) so it holds with Redis down. An HR admin unlocks from the admin (audited);
# otherwise the lock lifts after AXES_COOLOFF_TIME, which a new failure restarts.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "staff.lockout.lockout_response"
# The IP is REMOTE_ADDR (django-ipware is not installed), as for the voting limits: behind a
# proxy, the proxy sets it; a client-sent X-Forwarded-For is never trusted.

# TEMPLATES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# STATIC AND MEDIA
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Staff import files are checked against their own limits (staff.importing.reading); this keeps
# ordinary form posts bounded while letting a 20 MB spreadsheet through to that check.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# CACHES
# ------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache, with one client per pool instead of one per call.
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": REDIS_URL,
            # A cache that is down must cost a request milliseconds, not a hang.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    # The embedded default runs a web server, a worker and beat as separate processes: they
    # must share the cache (the worker's publication confirmations are what the web server's
    # "live updates are delayed" check reads), so it lives in files, not in each process's
    # memory. CACHE_FOLDER lets a test's processes share a throwaway one.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env("CACHE_FOLDER", default=str(VAR_DIR / "cache")),
            # Rendered board pages are cached per page, view and language: far more than
            # Django's default of 300 entries, whose culling would empty a third at a time.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

# Sessions live in the database so that logged-in admins and judges survive a Redis outage.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# SECURITY
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No callback token and no phone number in any line (config.logfilters): on every
    # handler, including runserver's request lines.
    "filters": {"redact": {"()": "config.logfilters.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own handlers (a debug-only console, mail to ADMINS, which is not set)
        # are replaced: its records reach the root's redacting handler.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}

# REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "config.api.DefaultPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # Body size and JSON nesting are bounded before decoding (config.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
# Deepest nesting of arrays and objects a JSON request body may have. Every API body is at
# most three levels deep; a 2,000-level body would otherwise exhaust the decoder's stack.
API_JSON_MAX_DEPTH = 32
SPECTACULAR_SETTINGS = {
    "TITLE": "Service Star API",
    "DESCRIPTION": "Campaigns, voting and results of the Service Star platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served by the app itself: a venue has no internet to reach a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# IMPORT / EXPORT
# ------------------------------------------------------------------------------
# Cells starting with = + - @ are neutralised in exports (spreadsheet formula injection).
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
# Exporting a model's rows needs its view permission (without this, any staff user could).
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# CELERY
# ------------------------------------------------------------------------------
# Seconds between leaderboard publications (beat). Every second keeps the commit-to-board
# lag p99 near 1 s, inside the 2 s target (docs/benchmarks.md); 2 s sits right at it.
VOTING_PUBLISH_INTERVAL = env.int("VOTING_PUBLISH_INTERVAL", default=1)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
# A pool process killed mid-task puts its message back (the kill tests run both ways:
# counting never depends on the message, see voting.counting.tallies).
CELERY_TASK_REJECT_ON_WORKER_LOST = env.bool("CELERY_TASK_REJECT_ON_WORKER_LOST", default=True)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ROUTES = {"staff.*_import*": {"queue": "heavy"}}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A wake-up message must never hold a request: publishing gives up quickly.
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
        "visibility_timeout": 3600,
    }
else:
    # CELERY_BROKER_FOLDER lets a test and the worker it starts share a throwaway broker.
    _BROKER_ROOT = Path(env("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "celery")))
    _BROKER_DIR = _BROKER_ROOT / "broker"
    _PROCESSED_DIR = _BROKER_ROOT / "processed"
    _CONTROL_DIR = _BROKER_ROOT / "control"
    for _folder in (_BROKER_DIR, _PROCESSED_DIR, _CONTROL_DIR):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "atomicfs://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR),
        "data_folder_out": str(_BROKER_DIR),
        "processed_folder": str(_PROCESSED_DIR),
        "store_processed": False,
        "control_folder": str(_CONTROL_DIR),
        # The folder is polled; at kombu's default of once a second a message of a task that
        # beat sends every second with a one-second expiry was often expired on arrival,
        # so the board was never confirmed and the pages reported a stall.
        "polling_interval": 0.1,
    }
CELERY_BEAT_SCHEDULE = {
    "purge-stale-staff-imports": {
        "task": "staff.purge_stale_imports",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    # Server time decides when a stage opens and closes; 30 s is the tolerance admins see.
    "open-and-close-due-stages": {
        "task": "campaigns.open_and_close_due_stages",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # The outbox sweep: sends what a lost or skipped wake-up left behind.
    "send-pending-sms": {
        "task": "campaigns.send_pending_sms",
        "schedule": 5.0,
        "options": {"expires": 5},
    },
    "purge-otp-records": {
        "task": "voting.purge_otp_records",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    # The tally outbox sweep: folds whatever a lost or debounced wake-up left behind.
    "fold-tallies": {
        "task": "voting.fold_tallies",
        "schedule": 1.0,
        "options": {"expires": 1},
    },
    "publish-leaderboards": {
        "task": "voting.publish_leaderboards",
        "schedule": float(VOTING_PUBLISH_INTERVAL),
        "options": {"expires": VOTING_PUBLISH_INTERVAL},
    },
    # Rating invitations that are due (evaluations.measurement.sending).
    "queue-rating-invitations": {
        "task": "evaluations.queue_rating_invitations",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # CELERY_TIMEZONE is Asia/Shanghai: 03:00 local, the quietest hour of a campaign.
    "recount-stages": {
        "task": "voting.recount_stages",
        "schedule": crontab(hour=3, minute=0),
        "options": {"expires": 3600},
    },
}

# Wake-up messages to workers (staff.wakeups): best effort, after commit. A broker that
# does not answer within WAKEUP_TIMEOUT seconds pauses every wake-up of the process for
# WAKEUP_BACKOFF_SECONDS, so an outage costs one timeout per pause, not one per request.
WAKEUPS_ENABLED = env.bool("WAKEUPS_ENABLED", default=True)
WAKEUP_TIMEOUT = env.float("WAKEUP_TIMEOUT", default=0.5)
WAKEUP_BACKOFF_SECONDS = env.float("WAKEUP_BACKOFF_SECONDS", default=5.0)

# SERVICE STAR
# ------------------------------------------------------------------------------
# The keyed hash of phone numbers uses its own key, not SECRET_KEY: rotating the session
# key must not change every voter's identity, and with only ~10^10 Chinese mobile numbers
# an unkeyed hash would be trivially reversible.
_DEV_PHONE_HASH_KEY = "dev-only-phone-hash-key-5a9e"
PHONE_HASH_KEY = env("PHONE_HASH_KEY", default=_DEV_PHONE_HASH_KEY if DEBUG else None)
if not PHONE_HASH_KEY:
    raise ImproperlyConfigured("PHONE_HASH_KEY must be set when DEBUG is off.")
SMS_INBOUND_SECRET = env("SMS_INBOUND_SECRET", default="")
# Inbound SMS webhooks (campaigns.messaging.inbound.gateways). An empty secret or token refuses every
# request of that gateway. The generic webhook's X-Timestamp may be this far from our clock.
SMS_INBOUND_MAX_SKEW = 300
SMS_TWILIO_AUTH_TOKEN = env("SMS_TWILIO_AUTH_TOKEN", default="")
# The public base URL the gateways call (scheme and host, e.g. https://stars.example.com):
# Twilio's signature covers the URL it requested, which Django cannot rebuild behind a
# proxy that rewrites the Host header. Empty: the URL Django sees.
SMS_PUBLIC_BASE_URL = env("SMS_PUBLIC_BASE_URL", default="")
# Aliyun's upstream push is unsigned: this token is the last part of its callback URL,
# /api/sms/inbound/aliyun/<token>/ (long and random, e.g. secrets.token_urlsafe(32)).
SMS_ALIYUN_CALLBACK_TOKEN = env("SMS_ALIYUN_CALLBACK_TOKEN", default="")
# The number customers text "TP <employee number>" to; shown on vote pages and posters.
SMS_VOTE_NUMBER = env("SMS_VOTE_NUMBER", default="10690000")
# Bounds of one staff import (file bytes and data rows).
STAFF_IMPORT_MAX_BYTES = env.int("STAFF_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
STAFF_IMPORT_MAX_ROWS = env.int("STAFF_IMPORT_MAX_ROWS", default=10_000)
SERVICE_STAR_SITE_NAME = _("Service Star")
# One-time codes (voting.otp): sending limits, counted in the database.
VOTING_OTP_RESEND_SECONDS = env.int("VOTING_OTP_RESEND_SECONDS", default=60)
VOTING_OTP_PER_PHONE_PER_HOUR = env.int("VOTING_OTP_PER_PHONE_PER_HOUR", default=5)
# A venue's Wi-Fi puts a whole audience behind one IP: raise this for live events.
VOTING_OTP_PER_IP_PER_HOUR = env.int("VOTING_OTP_PER_IP_PER_HOUR", default=20)
# Different numbers of one block of 100 consecutive numbers within the window.
VOTING_OTP_PER_BLOCK = env.int("VOTING_OTP_PER_BLOCK", default=10)
VOTING_OTP_BLOCK_WINDOW_SECONDS = env.int("VOTING_OTP_BLOCK_WINDOW_SECONDS", default=600)
# Wrong codes entered from one IP or one device within the window lock that IP or device
# out of code checks (voting.otp.tries), before any number's own 5 tries are touched. A
# venue's Wi-Fi puts a whole audience behind one IP: raise the per-IP number for live events.
VOTING_OTP_WRONG_PER_IP = env.int("VOTING_OTP_WRONG_PER_IP", default=20)
VOTING_OTP_WRONG_PER_DEVICE = env.int("VOTING_OTP_WRONG_PER_DEVICE", default=10)
VOTING_OTP_WRONG_WINDOW_SECONDS = env.int("VOTING_OTP_WRONG_WINDOW_SECONDS", default=900)
# How long a verified phone may vote again without a new code (signed voter token).
VOTING_SESSION_MAX_AGE = env.int("VOTING_SESSION_MAX_AGE", default=1800)
# Courtesy throttles of the voting API per client IP (DRF rate strings); the real limits
# are the database ones above and the stage's vote limits.
VOTING_API_THROTTLE_RATES = {"otp": "30/min", "votes": "120/min", "receipts": "120/min"}
# Outbound SMS (campaigns.messaging.sender). The outbox backend sends nothing and keeps
# every text.
SMS_BACKEND = env("SMS_BACKEND", default="campaigns.messaging.backends.outbox.OutboxBackend")
SMS_SEND_BATCH_SIZE = env.int("SMS_SEND_BATCH_SIZE", default=50)
SMS_MAX_ATTEMPTS = env.int("SMS_MAX_ATTEMPTS", default=6)
SMS_RETRY_BASE_SECONDS = env.int("SMS_RETRY_BASE_SECONDS", default=10)
SMS_RETRY_MAX_SECONDS = env.int("SMS_RETRY_MAX_SECONDS", default=600)
# A row "sending" for longer than this was left by a dead worker: its outcome is unknown.
SMS_CLAIM_TIMEOUT = env.int("SMS_CLAIM_TIMEOUT", default=300)
# The connection timeout of the bulk vote job's wake-up (voting.bulk); the SMS sender is
# woken through staff.wakeups (WAKEUP_*).
SMS_WAKE_TIMEOUT = env.float("SMS_WAKE_TIMEOUT", default=1.0)
SMS_HTTP_URL = env("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", default="")
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=5.0)
SMS_ALIYUN_ENDPOINT = env("SMS_ALIYUN_ENDPOINT", default="https://dysmsapi.aliyuncs.com/")
SMS_ALIYUN_REGION = env("SMS_ALIYUN_REGION", default="cn-hangzhou")
SMS_ALIYUN_ACCESS_KEY_ID = env("SMS_ALIYUN_ACCESS_KEY_ID", default="")
SMS_ALIYUN_ACCESS_KEY_SECRET = env("SMS_ALIYUN_ACCESS_KEY_SECRET", default="")
SMS_ALIYUN_SIGN_NAME = env("SMS_ALIYUN_SIGN_NAME", default="")
# Our template names -> approved Aliyun template codes, e.g. {"otp": "SMS_123456789"}.
SMS_ALIYUN_TEMPLATES = env.json("SMS_ALIYUN_TEMPLATES", default={})
# Fraud review (voting.fraud.patterns): a cluster is this many votes for one candidate inside one
# clock-aligned window. Lower numbers flag more; reviewers decide on the clusters page.
VOTING_FRAUD_IP_VOTES = env.int("VOTING_FRAUD_IP_VOTES", default=5)
VOTING_FRAUD_IP_WINDOW_MINUTES = env.int("VOTING_FRAUD_IP_WINDOW_MINUTES", default=10)
# Used once the ledger stores a /24 subnet hash (voting.fraud.SUBNET_FIELD).
VOTING_FRAUD_SUBNET_VOTES = env.int("VOTING_FRAUD_SUBNET_VOTES", default=20)
VOTING_FRAUD_SUBNET_WINDOW_MINUTES = env.int("VOTING_FRAUD_SUBNET_WINDOW_MINUTES", default=10)
# Different voters whose masked numbers differ only in the last DIGITS digit(s).
VOTING_FRAUD_SEQUENCE_VOTERS = env.int("VOTING_FRAUD_SEQUENCE_VOTERS", default=4)
VOTING_FRAUD_SEQUENCE_WINDOW_MINUTES = env.int("VOTING_FRAUD_SEQUENCE_WINDOW_MINUTES", default=30)
VOTING_FRAUD_SEQUENCE_DIGITS = env.int("VOTING_FRAUD_SEQUENCE_DIGITS", default=1)
VOTING_FRAUD_CLUSTERS_LIMIT = 50
# Bulk invalidate/restore: above this many votes the change runs as a background job, in
# batches of VOTING_FRAUD_JOB_BATCH votes, each its own transaction (short row locks).
VOTING_FRAUD_BULK_SYNC_MAX = env.int("VOTING_FRAUD_BULK_SYNC_MAX", default=2000)
VOTING_FRAUD_JOB_BATCH = env.int("VOTING_FRAUD_JOB_BATCH", default=1000)
# Tallies (voting.counting.tallies): events folded per transaction, and how long one fold task
# keeps going before it leaves the rest to the next beat tick.
VOTING_TALLY_BATCH_SIZE = env.int("VOTING_TALLY_BATCH_SIZE", default=5000)
VOTING_TALLY_TIME_BUDGET = env.float("VOTING_TALLY_TIME_BUDGET", default=10.0)
# TEST-ONLY fault hook: a fold sleeps this many seconds before committing so a test can
# kill the worker mid-batch. Must stay 0 in production.
VOTING_TALLY_FAULT_SLEEP = env.float("VOTING_TALLY_FAULT_SLEEP", default=0.0)
# Published boards in the cache (voting.counting.publication); the database snapshot is the record.
VOTING_LEADERBOARD_CACHE_TIMEOUT = env.int("VOTING_LEADERBOARD_CACHE_TIMEOUT", default=3600)
# Service measurement (evaluations.measurement). Invitations: delay after the service,
# quiet hours (local time; inside them an invitation waits for their end), and at most one
# invitation per customer in this many days.
EVALUATIONS_INVITATION_DELAY_MINUTES = env.int("EVALUATIONS_INVITATION_DELAY_MINUTES", default=30)
EVALUATIONS_QUIET_HOURS = ("21:00", "08:00")
EVALUATIONS_INVITATION_INTERVAL_DAYS = env.int("EVALUATIONS_INVITATION_INTERVAL_DAYS", default=30)
# Business systems' clocks drift: served_at up to this far ahead of ours is accepted.
EVALUATIONS_FUTURE_SKEW_SECONDS = 300
# Shrunk means pull a staff member's mean towards the month's mean as if they had this
# many extra ratings at that mean (three 10s stay below 3,000 ratings averaging 9.6).
EVALUATIONS_SHRINKAGE_RATINGS = 20
# A rating reply counts for the customer's latest invitation sent this many hours ago at most.
EVALUATIONS_REPLY_WINDOW_HOURS = 48
# Bounds of one call-centre KPI file (evaluations.measurement.kpi_files).
EVALUATIONS_KPI_MAX_BYTES = env.int("EVALUATIONS_KPI_MAX_BYTES", default=10 * 1024 * 1024)
EVALUATIONS_KPI_MAX_ROWS = env.int("EVALUATIONS_KPI_MAX_ROWS", default=10_000)
# Ratings a contestant needs in an evaluation-based stage's months to get a satisfaction
# score, unless the stage's own rule (admin: evaluation stage rules) says otherwise.
EVALUATIONS_MIN_RATINGS = env.int("EVALUATIONS_MIN_RATINGS", default=30)
