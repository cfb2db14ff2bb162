from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from civicstat.lib.secretkey import secret_key_ensure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicstat.settings")
# Any WSGI server (granian, gunicorn, mod_wsgi) fails to load the site on a public or weak key.
secret_key_ensure()
application = get_wsgi_application()
