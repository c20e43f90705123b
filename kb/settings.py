"""Settings for kb, read from the environment (see README "Configuration")."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse_lazy

from kb import serving
from kb.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment, or set DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    # django-ninja (the JSON API): listed so its docs page uses the Swagger UI
    # files it ships, served from our static files, never from a CDN.
    "ninja",
    "taggit",
    "axes",
    "csp",
    "articles",
    "search",
]

MIDDLEWARE = [
    # First: probes are answered before host validation, HTTPS redirects and sessions.
    "kb.health.HealthCheckMiddleware",
    # Next, so its JSON line sees the final status of everything below it.
    "kb.middleware.RequestLogMiddleware",
    # A client this process just refused (429) is refused again here, before any Redis round trip, sessions
    # or routing, through the security-header middleware alone (kb/throttle.py).
    "kb.throttle.BlockedClientMiddleware",
    # Cached pages as this process last sent them, with the headers added below (articles/caching.py).
    "articles.caching.SentPageMiddleware",
    # Security headers above everything that can answer: static files and cached pages get them too.
    "django.middleware.security.SecurityMiddleware",
    # Permissions-Policy, Cross-Origin-Resource-Policy and Reporting-Endpoints (kb/headers.py).
    "kb.headers.SecurityHeadersMiddleware",
    "kb.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kb.middleware.DatabaseUnavailableMiddleware",
    # A NUL byte in the address, a cookie or a form is a 400, before it can reach a query.
    "kb.middleware.NulByteMiddleware",
    # After WhiteNoise (static files carry their own validators), before
    # anything that could change the body it hashes for the ETag.
    "django.middleware.http.ConditionalGetMiddleware",
    # Brotli or gzip for text responses, below ConditionalGet so that each encoding has its own ETag;
    # cached pages come out of the cache below already compressed (kb/compression.py).
    "kb.compression.CompressionMiddleware",
    # Cached pages for requests that cannot be signed in, before sessions and routing.
    "articles.caching.PageCacheMiddleware",
    # Below the cache (hits never touch the database): bounds the request's total database time.
    "kb.middleware.QueryBudgetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Rate and concurrency limits on expensive requests (uncached search, the API's q): kb/throttle.py.
    "kb.throttle.ExpensiveRequestMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kb.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "articles.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "kb.wsgi.application"

# Unset DATABASE_URL means the zero-setup SQLite file used by `make run`;
# production and the test suite use PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}

# gunicorn's numbers (gunicorn.conf.py reads the same variables): the pool is
# sized from the threads of one worker process, and no query may outlive the
# worker timeout, or gunicorn would kill the worker mid-query.
GUNICORN_TIMEOUT = env_int("GUNICORN_TIMEOUT", 30)
GUNICORN_THREADS = serving.threads()
# 0 means no limit: only for `migrate`, whose index builds may take longer.
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 10_000)
if not 0 <= DB_STATEMENT_TIMEOUT_MS < GUNICORN_TIMEOUT * 1000:
    raise ImproperlyConfigured(
        f"DB_STATEMENT_TIMEOUT_MS ({DB_STATEMENT_TIMEOUT_MS}) must be below GUNICORN_TIMEOUT ({GUNICORN_TIMEOUT} s)."
    )
# A process never holds more connections than threads drawing them at once,
# so a cap above a sync worker's single thread costs gunicorn nothing; it is
# there for the threaded servers (runserver, the tests' live server), which
# would otherwise wait on one connection and answer 503.
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", max(GUNICORN_THREADS, 4))
DB_POOL_MIN_SIZE = min(env_int("DB_POOL_MIN_SIZE", 1), DB_POOL_MAX_SIZE)
DB_POOL_TIMEOUT = env_int("DB_POOL_TIMEOUT", 5)
# A request's whole database time, not only each statement's (kb/deadline.py):
# past (this - DB_STATEMENT_TIMEOUT_MS), each statement gets only what is left.
DB_REQUEST_TIMEOUT_MS = env_int("DB_REQUEST_TIMEOUT_MS", max(15_000, DB_STATEMENT_TIMEOUT_MS))
if not 0 < DB_REQUEST_TIMEOUT_MS < GUNICORN_TIMEOUT * 1000:
    raise ImproperlyConfigured(
        f"DB_REQUEST_TIMEOUT_MS ({DB_REQUEST_TIMEOUT_MS}) must be above 0 and below GUNICORN_TIMEOUT "
        f"({GUNICORN_TIMEOUT} s)."
    )
# A database that stops answering without closing the connection (kb/dbguard.py): the kernel gives up
# on a dead network after DB_TCP_USER_TIMEOUT_MS of unacknowledged data, or keepalive probes unanswered
# for DB_KEEPALIVES_IDLE + 3 x DB_KEEPALIVES_INTERVAL s; a peer that acknowledges but never answers (a
# hung proxy) has its socket shut by a watchdog DB_STALL_GRACE_MS after the statement's own timeout,
# and a pooled connection's check before reuse is given DB_CHECK_TIMEOUT_MS.
DB_TCP_USER_TIMEOUT_MS = env_int("DB_TCP_USER_TIMEOUT_MS", 5_000)
DB_KEEPALIVES_IDLE = env_int("DB_KEEPALIVES_IDLE", 5)
DB_KEEPALIVES_INTERVAL = env_int("DB_KEEPALIVES_INTERVAL", 2)
DB_STALL_GRACE_MS = env_int("DB_STALL_GRACE_MS", 1_000)
DB_CHECK_TIMEOUT_MS = env_int("DB_CHECK_TIMEOUT_MS", 500)
# While the database is down, a probe tries to connect this often; until it succeeds requests fail fast.
DB_PROBE_INTERVAL_MS = env_int("DB_PROBE_INTERVAL_MS", 500)
if DB_REQUEST_TIMEOUT_MS + DB_STALL_GRACE_MS >= GUNICORN_TIMEOUT * 1000:
    raise ImproperlyConfigured("DB_REQUEST_TIMEOUT_MS + DB_STALL_GRACE_MS must stay below GUNICORN_TIMEOUT.")


def _postgresql(database: dict) -> dict:
    """Django's psycopg pool, checked connections and timeouts, so a PostgreSQL restart costs 503s, not a restart."""
    if database["ENGINE"] != "django.db.backends.postgresql":
        return database  # SQLite for `make run` keeps Django's plain connections.
    options = database.get("OPTIONS", {})
    statement_timeout = f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
    return {
        **database,
        # The pool owns connection reuse; Django requires CONN_MAX_AGE=0 with it.
        "CONN_MAX_AGE": 0,
        # With a pool, this makes Django pass psycopg_pool's check_connection:
        # a connection that died with a server restart is found when drawn
        # and replaced, instead of failing the request that drew it
        # (kb/dbguard.py bounds it in time, for one that hangs instead).
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            **options,
            "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 5),
            # libpq's TCP options, on every connection (kb/dbguard.py says what each bounds).
            "keepalives": 1,
            "keepalives_idle": DB_KEEPALIVES_IDLE,
            "keepalives_interval": DB_KEEPALIVES_INTERVAL,
            "keepalives_count": 3,
            "tcp_user_timeout": DB_TCP_USER_TIMEOUT_MS,
            "options": " ".join(filter(None, [options.get("options"), statement_timeout])),
            "pool": {
                "min_size": DB_POOL_MIN_SIZE,
                "max_size": DB_POOL_MAX_SIZE,
                # How long a request waits for a connection before it gets a 503.
                "timeout": DB_POOL_TIMEOUT,
                # Give up a reconnection series quickly: the next request starts
                # a new one at once, so recovery follows the database's return
                # within seconds instead of after a long back-off.
                "reconnect_timeout": DB_POOL_TIMEOUT,
                "max_idle": 300,
            },
        },
    }


DATABASES["default"] = _postgresql(DATABASES["default"])

# Reads can go to a read replica (kb/db_router.py says which stay on the primary).
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
# How far the replica may lag: pages are rendered from the primary for this
# long after a content change (articles/caching.py).
DATABASE_REPLICA_LAG_SECONDS = env_int("DATABASE_REPLICA_LAG_SECONDS", 10)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **_postgresql(dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60, conn_health_checks=True)),
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["kb.db_router.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "kb.db_router.ReplicaPinningMiddleware",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out client is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one
# username from one client address, that pair is locked for the cool-off.
# Locking the pair, not the address or the username alone, means an attacker
# can neither lock a colleague out nor keep guessing from one machine.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_VERBOSE = False
# Behind N trusted proxies, the client is the Nth address from the right of
# X-Forwarded-For; with none, only REMOTE_ADDR counts (headers are forgeable).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if TRUSTED_PROXY_COUNT else ["REMOTE_ADDR"]

# Expensive requests (kb/throttle.py): a view name and the parameter that makes it expensive when given.
EXPENSIVE_VIEWS = {"search:search": "q", "api-v1:list_articles": "q"}
# Per client address (as django-axes finds it, above), in Redis: on average this many a minute, in bursts of
# up to EXPENSIVE_RATE_BURST. 0 turns it off; without REDIS_URL there is none.
EXPENSIVE_RATE_PER_MINUTE = env_int("EXPENSIVE_RATE_PER_MINUTE", 30)
EXPENSIVE_RATE_BURST = env_int("EXPENSIVE_RATE_BURST", 10)
# At once: per process (threaded workers) and per machine (sync workers serve one request each, so this
# is what leaves workers and CPUs free for cached pages): half the CPUs. Excess requests get 503 at once.
EXPENSIVE_CONCURRENCY_PER_PROCESS = env_int("EXPENSIVE_CONCURRENCY_PER_PROCESS", max(1, GUNICORN_THREADS - 1))
EXPENSIVE_CONCURRENCY_PER_HOST = env_int("EXPENSIVE_CONCURRENCY_PER_HOST", max(1, serving.cpu_count() // 2))
# Where the machine-wide slots are kept (lock files); default: a directory per gunicorn master.
EXPENSIVE_SLOTS_DIR = env_str("EXPENSIVE_SLOTS_DIR")
EXPENSIVE_BUSY_RETRY_AFTER = 2

# Search analytics (#13, search/analytics.py): each search page view and opened result, recorded by a
# beacon; no address, user or cookie. Rows older than the retention are deleted (purge_search_log).
SEARCH_ANALYTICS = env_bool("SEARCH_ANALYTICS", default=True)
SEARCH_LOG_RETENTION_DAYS = env_int("SEARCH_LOG_RETENTION_DAYS", 180)
if SEARCH_LOG_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("SEARCH_LOG_RETENTION_DAYS must be at least 1.")
# Beacons recorded a minute: per client address, and for the whole site (what the log can grow by).
SEARCH_LOG_RATE_PER_MINUTE = env_int("SEARCH_LOG_RATE_PER_MINUTE", 60)
SEARCH_LOG_MAX_PER_MINUTE = env_int("SEARCH_LOG_MAX_PER_MINUTE", 3000)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed names in production; plain files while developing
        # so that `runserver` needs no collectstatic.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Uploaded media on S3-compatible object storage when a bucket is named, so
# that any number of web containers share it. Credentials come from boto3's
# usual sources (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance role).
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL")
AWS_S3_CUSTOM_DOMAIN = env_str("AWS_S3_CUSTOM_DOMAIN")
MEDIA_ORIGINS = []
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "region_name": AWS_S3_REGION_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "custom_domain": AWS_S3_CUSTOM_DOMAIN,
            # Plain URLs: image links are stored in rendered article HTML and
            # in cached pages, where a signed URL would expire.
            "querystring_auth": False,
            "file_overwrite": False,
        },
    }
    if AWS_S3_CUSTOM_DOMAIN:
        MEDIA_ORIGINS = [f"https://{AWS_S3_CUSTOM_DOMAIN}"]
    elif AWS_S3_ENDPOINT_URL:
        MEDIA_ORIGINS = [AWS_S3_ENDPOINT_URL.rstrip("/")]
    else:
        MEDIA_ORIGINS = [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.amazonaws.com"]
        if AWS_S3_REGION_NAME:
            MEDIA_ORIGINS.append(f"https://{AWS_STORAGE_BUCKET_NAME}.s3.{AWS_S3_REGION_NAME}.amazonaws.com")

# WhiteNoise serves the hashed names that {% static %} emits with a ten-year,
# immutable Cache-Control of its own (a new file means a new name). This is
# for the unhashed copies, whose content can change under the same URL.
WHITENOISE_MAX_AGE = env_int("WHITENOISE_MAX_AGE", 3600)

TAGGIT_CASE_INSENSITIVE = True
# Tag URLs use Django's <slug:> converter, which is ASCII-only: "café" -> "cafe".
TAGGIT_STRIP_UNICODE_WHEN_SLUGIFYING = True

SITE_NAME = env_str("SITE_NAME", "kb")

# Markdown bodies above this size are refused with a validation message, so
# that no single article can make rendering or search slow for everyone.
ARTICLE_BODY_MAX_BYTES = 200 * 1024
IMAGE_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
# Decoded size, checked from the header before any pixel is decoded (articles/uploads.py): 40 MP is 160 MB of RGBA.
IMAGE_UPLOAD_MAX_PIXELS = env_int("IMAGE_UPLOAD_MAX_PIXELS", 40_000_000)

# HTTPS and security headers. TLS ends at the proxy or load balancer in front
# of gunicorn, which must set X-Forwarded-Proto (overwriting any value a client
# sent). Development over plain http://127.0.0.1 (DEBUG=1) turns the HTTPS-only
# parts off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"

# Content-Security-Policy (django-csp): no inline script or style anywhere, the
# admin included (Django 5.2's admin keeps its scripts in files; its one inline
# <style>, on change lists without actions, is cosmetic and none of ours lacks
# actions), so neither needs 'unsafe-inline'. Nothing is loaded from elsewhere
# but uploaded images, when they live on object storage.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *MEDIA_ORIGINS],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Violations are reported (kb/csp_reports.py): `report-to` names the Reporting-Endpoints group
# (kb/headers.py), `report-uri` is for browsers without the Reporting API.
CSP_REPORTS = env_bool("CSP_REPORTS", default=True)
CSP_REPORT_GROUP = "csp-endpoint"
if CSP_REPORTS:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [reverse_lazy("csp-report")]
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-to"] = CSP_REPORT_GROUP
# What one post may carry (413 past it) and how many posts are taken a minute, per client address and
# for the whole site (429 past either; in Redis, kb/throttle.py), so reports cannot flood the logs.
CSP_REPORT_MAX_BYTES = 8 * 1024
CSP_REPORT_MAX_PER_POST = 20
CSP_REPORT_RATE_PER_MINUTE = env_int("CSP_REPORT_RATE_PER_MINUTE", 60)
CSP_REPORT_SITE_RATE_PER_MINUTE = env_int("CSP_REPORT_SITE_RATE_PER_MINUTE", 1200)

# Browser features no page uses, turned off for every page (kb/headers.py); an empty list denies the
# feature to the site and to anything it could embed. Only names Chromium recognises (an unknown one
# is a console warning on every page): tests/browser/test_permissions_policy.py.
PERMISSIONS_POLICY = {
    feature: []
    for feature in [
        "accelerometer", "autoplay", "browsing-topics", "camera", "clipboard-read", "clipboard-write",
        "display-capture", "encrypted-media", "fullscreen", "geolocation", "gyroscope", "hid",
        "identity-credentials-get", "idle-detection", "local-fonts", "magnetometer", "microphone", "midi",
        "otp-credentials", "payment", "picture-in-picture", "publickey-credentials-create",
        "publickey-credentials-get", "screen-wake-lock", "serial", "storage-access", "sync-xhr", "usb",
        "window-management", "xr-spatial-tracking",
    ]
}  # fmt: skip

# The cache: Redis when REDIS_URL is set (shared by every process and machine),
# else this process's memory.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, reusing its redis client (kb/cache.py says why).
            "BACKEND": "kb.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "kb"),
            # A Redis that is down or slow must cost a cache miss, not a hung request.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "kb",
            "OPTIONS": {"MAX_ENTRIES": 2000},
        }
    }
# Server-side caching of public pages (articles/caching.py). On by default only
# with Redis: several gunicorn workers each with a local-memory cache would not
# see each other's invalidations. PAGE_CACHE=1 with local memory is right only
# for a single process.
PAGE_CACHE = env_bool("PAGE_CACHE", default=bool(REDIS_URL))
# Changes invalidate pages at once; this only bounds how long an unvisited
# page occupies memory (and, should Redis be unreachable when a change is
# saved, how long a missed invalidation can last).
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 600)

# Email (review reminders, #16): Django's email framework. With DEBUG the
# console backend prints messages; otherwise SMTP from the environment.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "kb <kb@localhost>")
# The site's public address, for links in emails sent outside a request.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# One JSON object a line on stdout (kb/jsonlog.py): the request line from
# kb.middleware, and errors with their tracebacks. django.request is kept to
# errors, because every request already has its own line.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# /metrics (kb/metrics.py): Prometheus text for a scraper sending "Authorization: Bearer <METRICS_TOKEN>";
# a 404 while unset. PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py makes one) adds up gunicorn's processes.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# Python's warnings are logged too, as JSON ("py.warnings"), by kb.jsonlog.configure. A bad Host header is
# one WARNING line without a traceback, at most 10 a minute per process (kb.jsonlog.DisallowedHostFilter).
LOGGING_CONFIG = "kb.jsonlog.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "kb.jsonlog.JsonFormatter"}},
    "filters": {"disallowed_host": {"()": "kb.jsonlog.DisallowedHostFilter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": "WARNING"},
    "loggers": {
        "django": {"level": "INFO"},
        "django.request": {"level": "ERROR"},
        "django.security.DisallowedHost": {"level": "WARNING", "filters": ["disallowed_host"]},
        "py.warnings": {"level": "WARNING"},
        "kb": {"level": LOG_LEVEL},
        "articles": {"level": LOG_LEVEL},
    },
}
