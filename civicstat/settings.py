"""CivicStat settings: one file, every knob an environment variable with a safe default.

See README.md ("Configuration") for the list; `tests/test_docs.py` fails when a setting read here
is missing from it.
"""

from __future__ import annotations

import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from civicstat.lib.clientip import networks_parse
from civicstat.lib.env import envbool, envint, envlist, envstr, map_view
from civicstat.lib.secretkey import DEV_SECRET_KEY, secret_key_read

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", "False")
# The key that signs sessions, CSRF tokens and alert links: SECRET_KEY, else the file named by
# SECRET_KEY_FILE (unset: var/secret_key, which `make setup` writes once per checkout), else the
# development key. That one is public: with DEBUG off the web server, the worker and every command
# that may sign or send refuse to start on it (civicstat/lib/secretkey.py).
_KEY_FILE = str(BASE_DIR / "var" / "secret_key")
_key_file = envstr("SECRET_KEY_FILE", _KEY_FILE)
SECRET_KEY = (
    envstr("SECRET_KEY", "")
    or secret_key_read(path=_key_file, optional=_key_file == _KEY_FILE)
    or DEV_SECRET_KEY
)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CITY_NAME = envstr("CITY_NAME", "Kansas City, MO")
TIME_ZONE = envstr("TIME_ZONE", "America/Chicago")
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "civicstat.cases",
    "civicstat.ingest",
    "civicstat.open311",
    "civicstat.performance",
    "civicstat.alerts",
    "civicstat.maps",
    "civicstat.api",
    "civicstat.places",
    "ninja",  # the query API's docs page and its static files (served locally, no CDN)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Gzips every answer the client accepts gzip for that is not gzipped already (the page
    # cache packs its own, the API's exports stream their own): HTML, JSON, feeds, CSV. Below
    # WhiteNoise, which serves pre-compressed static files; above ConditionalGet, so ETags are
    # made on the plain body. Why it is safe against BREACH: civicstat/compression.py.
    "civicstat.compression.GZipMiddleware",
    # Answers a page cache hit with the hooks of the middleware below it (civicstat/web.py).
    "civicstat.web.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Refuses control characters in the path and query, and turns a ParamError into a 400.
    "civicstat.web.ParamsMiddleware",
    # Innermost: keeps a page cache entry with the headers its view's decorators added.
    "civicstat.web.PageCacheStoreMiddleware",
]

ROOT_URLCONF = "civicstat.urls"
WSGI_APPLICATION = "civicstat.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "civicstat" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "civicstat.context_processors.site",
            ],
        },
    },
]

VAR_DIR = BASE_DIR / "var"  # the default home of the SQLite file and collected static files
DATABASE_URL = envstr("DATABASE_URL", "")
if not DATABASE_URL:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'civicstat.sqlite3'}"
# Connections are kept between requests (checked before reuse): opening one cost more than a
# cached answer (SQLite: connect and three PRAGMAs, 2 of 3 ms per cached Open311 request).
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=envint("CONN_MAX_AGE", "60"), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions and a busy timeout let the web process, the worker and an import share
    # one SQLite file without "database is locked" errors; WAL lets readers run beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-64000;"
        ),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": envstr("REDIS_URL", ""),
        }
        if envstr("REDIS_URL", "")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    # Whole public pages and API answers, keyed on the data version and URL (`civicstat.web`): a
    # repeat is served without rendering until the data changes. In-process by default, so each
    # web process holds at most RESPONSE_CACHE_ENTRIES of them; shared through REDIS_URL if set.
    "responses": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": envstr("REDIS_URL", ""),
            "KEY_PREFIX": "responses",
        }
        if envstr("REDIS_URL", "")
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "responses",
            "OPTIONS": {"MAX_ENTRIES": envint("RESPONSE_CACHE_ENTRIES", "200")},
        }
    ),
}
# Answers larger than this are not cached (a page of 1,000 Open311 requests is about 0.5 MB);
# 0 turns the page cache off.
RESPONSE_CACHE_MAX_BYTES = envint("RESPONSE_CACHE_MAX_BYTES", "2000000")

# Rate limits on public POSTs (django-ratelimit, counted in the cache above): a client over the
# limit gets a 429 page. With the default in-process cache each web process counts on its own; set
# REDIS_URL when several processes serve the site so that they share one count.
RATELIMIT_VIEW = "civicstat.web.rate_limited"
# Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR ranges, comma-separated).
# Empty: the client is REMOTE_ADDR, and X-Forwarded-For is ignored, since any client can send it.
try:
    TRUSTED_PROXIES = networks_parse(envlist("TRUSTED_PROXIES", ""))
except ValueError as error:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from None
# django-ratelimit's "ip" key reads the client through the same trusted-proxy rule.
RATELIMIT_IP_META_KEY = "civicstat.web.client_ip"
# The admin's sign-in (civicstat/signin.py), counted in the default cache: this many failures for
# one account (its username in any case) or from one client address within the window lock that
# account or address out, right password included, for LOGIN_LOCKOUT_SECONDS.
LOGIN_FAILURES_PER_ACCOUNT = envint("LOGIN_FAILURES_PER_ACCOUNT", "5")
LOGIN_FAILURES_PER_IP = envint("LOGIN_FAILURES_PER_IP", "20")
LOGIN_FAILURES_WINDOW_SECONDS = envint("LOGIN_FAILURES_WINDOW_SECONDS", "900")
LOGIN_LOCKOUT_SECONDS = envint("LOGIN_LOCKOUT_SECONDS", "900")
# Public reads that read the cases themselves (text searches, list pages, maps filtered beyond the
# rollups; civicstat/readlimits.py): how many one client address may make (a django-ratelimit
# rate, counted in the cache above; empty: no limit), how long one of their statements may run
# (0: no limit), and the deepest page of /map/list.
PUBLIC_READ_RATE = envstr("PUBLIC_READ_RATE", "30/m")
if PUBLIC_READ_RATE and not re.fullmatch(r"\d+/\d*[smhd]", PUBLIC_READ_RATE):
    raise ImproperlyConfigured(f"PUBLIC_READ_RATE must read like 30/m, not {PUBLIC_READ_RATE!r}")
PUBLIC_QUERY_TIMEOUT_MS = envint("PUBLIC_QUERY_TIMEOUT_MS", "2000")
# The longest a whole-layer export (/api/v1/layers/<layer>/cases.csv) may stream: each of its
# statements is short (a keyset chunk under PUBLIC_QUERY_TIMEOUT_MS), but a client that reads
# slowly would otherwise hold a worker for as long as it likes.
EXPORT_TIME_LIMIT_S = envint("EXPORT_TIME_LIMIT_S", "900")
MAP_LIST_MAX_PAGE = envint("MAP_LIST_MAX_PAGE", "100")
if MAP_LIST_MAX_PAGE < 1:
    raise ImproperlyConfigured("MAP_LIST_MAX_PAGE must be 1 or more")

# SODA-compatible API (/resource/<id>.json, civicstat/api/soda): the largest $limit a query may
# ask for (a larger one is a 400), and the requests one client address and one app token may make
# (django-ratelimit rates; empty: no limit). Both are counted: an invented token buys no more than
# the address allows. The licence and contact the catalogue (/data, /data.json) names.
SODA_MAX_LIMIT = envint("SODA_MAX_LIMIT", "50000")
if SODA_MAX_LIMIT < 1:
    raise ImproperlyConfigured("SODA_MAX_LIMIT must be 1 or more")
SODA_IP_RATE = envstr("SODA_IP_RATE", "120/m")
SODA_APP_TOKEN_RATE = envstr("SODA_APP_TOKEN_RATE", "1000/h")
for _name, _rate in (("SODA_IP_RATE", SODA_IP_RATE), ("SODA_APP_TOKEN_RATE", SODA_APP_TOKEN_RATE)):
    if _rate and not re.fullmatch(r"\d+/\d*[smhd]", _rate):
        raise ImproperlyConfigured(f"{_name} must read like 120/m, not {_rate!r}")
OPEN_DATA_LICENSE_NAME = envstr("OPEN_DATA_LICENSE_NAME", "Public Domain (CC0 1.0)")
OPEN_DATA_LICENSE_URL = envstr(
    "OPEN_DATA_LICENSE_URL", "https://creativecommons.org/publicdomain/zero/1.0/"
)
OPEN_DATA_CONTACT_EMAIL = envstr("OPEN_DATA_CONTACT_EMAIL", "opendata@example.org")

# Open311 GeoReport v2 server (/open311/v2/): which layers it publishes (empty: all), the
# jurisdiction_id it answers to (empty: any), discovery's contact lines, and posts per API key.
OPEN311_LAYERS = envlist("OPEN311_LAYERS", "")
OPEN311_JURISDICTION = envstr("OPEN311_JURISDICTION", "")
OPEN311_CONTACT = envstr("OPEN311_CONTACT", "Contact the city's 311 team.")
OPEN311_KEY_SERVICE = envstr("OPEN311_KEY_SERVICE", "Ask the city's 311 team for an API key.")
OPEN311_POST_RATE = envstr("OPEN311_POST_RATE", "60/m")
# Sync clients (manage.py sync_source / run_scheduler): per-request timeout, attempts per page, and
# the first retry's wait (doubled on each further retry).
SYNC_TIMEOUT_SECONDS = envint("SYNC_TIMEOUT_SECONDS", "30")
SYNC_ATTEMPTS = envint("SYNC_ATTEMPTS", "5")
SYNC_BACKOFF_MS = envint("SYNC_BACKOFF_MS", "1000")

TASKS = {
    "default": {
        "BACKEND": envstr("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static_root"
STATICFILES_DIRS = [BASE_DIR / "civicstat" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# Outgoing mail over SMTP (Django 6.1's MAILERS; the environment keeps the familiar names).
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": envstr("EMAIL_HOST", "127.0.0.1"),
            "port": envint("EMAIL_PORT", "25"),
            "username": envstr("EMAIL_HOST_USER", ""),
            "password": envstr("EMAIL_HOST_PASSWORD", ""),
            "use_tls": envbool("EMAIL_USE_TLS", "False"),
            "timeout": envint("EMAIL_TIMEOUT", "20"),
        },
    }
}
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "CivicStat <civicstat@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Staff addresses told by email when an alert address bounces (Django's mail_managers).
MANAGERS = envlist("MANAGERS", "")

# Security: no page may be framed (embed views, which come later, opt in one by one);
# scripts and styles only from this site.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
}
# Behind HTTPS (a reverse proxy that terminates TLS and sets X-Forwarded-Proto): secure cookies,
# redirects from plain HTTP, and HSTS.
HTTPS = envbool("HTTPS", "False")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", str(HTTPS))
# Asking to be preloaded lets anyone submit the domain to the browsers' built-in HTTPS-only list,
# for it and all its subdomains, for months: a choice for the domain's owner, never a default. So
# `check --deploy`'s reminder of it (W021) is silenced; its other warnings all hold.
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "False")
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Import: rows per database batch. Larger batches are faster until memory use grows.
INGEST_BATCH_SIZE = envint("INGEST_BATCH_SIZE", "5000")

# The month (1–12) the city's fiscal year starts in; measures may override it. KC's starts in May.
FISCAL_YEAR_START_MONTH = envint("FISCAL_YEAR_START_MONTH", "5")
# Email alerts (civicstat.alerts).
ALERTS_MAX_RADIUS_M = envint("ALERTS_MAX_RADIUS_M", "5000")
ALERTS_MAX_SUBSCRIPTIONS = envint("ALERTS_MAX_SUBSCRIPTIONS", "20")
ALERTS_MAX_ITEMS = envint("ALERTS_MAX_ITEMS", "20")
ALERTS_CONFIRM_DAYS = envint("ALERTS_CONFIRM_DAYS", "7")
ALERTS_DIGEST_HOUR = envint("ALERTS_DIGEST_HOUR", "7")
ALERTS_DIGEST_WEEKDAY = envint("ALERTS_DIGEST_WEEKDAY", "0")
ALERTS_MATCH_BATCH = envint("ALERTS_MATCH_BATCH", "2000")
ALERTS_RETRY_SECONDS = envint("ALERTS_RETRY_SECONDS", "60")
ALERTS_RATE_PER_IP = envstr("ALERTS_RATE_PER_IP", "20/h")
ALERTS_RATE_PER_ADDRESS = envstr("ALERTS_RATE_PER_ADDRESS", "5/h")
# The public map. No base-map tiles by default (pages must work offline and behind firewalls): the
# city's boundaries are drawn instead. Set a tile URL template to show a base map; its origin is
# added to the map pages' image policy.
MAP_TILE_URL = envstr("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = envstr("MAP_TILE_ATTRIBUTION", "")
# The offline base map `build_basemap` makes when no tile server is set: where it is written, and
# its inputs (empty: that layer is left out; the demo names Kansas City's own files).
BASEMAP_DIR = Path(envstr("BASEMAP_DIR", str(VAR_DIR / "basemap")))
BASEMAP_ROADS = envstr("BASEMAP_ROADS", "")
BASEMAP_PARCELS = envstr("BASEMAP_PARCELS", "")
BASEMAP_ROADS_ATTRIBUTION = envstr(
    "BASEMAP_ROADS_ATTRIBUTION",
    '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)
MAP_POINTS_LIMIT = envint("MAP_POINTS_LIMIT", "1000")  # cases in view before the map clusters them
# Where maps open, "lat,lon,zoom"; empty: the extent of the city's areas, else of its cases.
MAP_CENTER = map_view("MAP_CENTER", envstr("MAP_CENTER", ""))
# The place search: the city's own address index (`load_addresses`) unless a Nominatim- or
# Pelias-compatible service is named; GEOCODER_BOUNDS ("west,south,east,north") keeps its answers
# in the city.
GEOCODER_URL = envstr("GEOCODER_URL", "")
GEOCODER_API = envstr("GEOCODER_API", "nominatim")
GEOCODER_BOUNDS = [float(v) for v in envstr("GEOCODER_BOUNDS", "").split(",") if v.strip()] or None
# A department with fewer cases than this in the chosen period is shown but not ranked.
DEPARTMENT_MIN_VOLUME = envint("DEPARTMENT_MIN_VOLUME", "30")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}
