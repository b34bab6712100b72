"""ASGI entry point: HTTP goes to Django, WebSockets to Channels consumers.

WebSockets pass through two gates before any consumer runs: the Origin must
be one of ALLOWED_HOSTS (cross-site pages cannot open a socket with the
student's cookies), and the session cookie is resolved to a user.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutor.settings")
# The web server shares a pool of database connections between its threads
# (Django's advice under ASGI: each request runs in its own thread, and
# persistent connections there pile up until PostgreSQL refuses new ones;
# bench/load.py saw HTTP 500s at 200 students). Workers keep one persistent
# connection each (DB_CONN_MAX_AGE, 60 s). Set only while the settings load,
# so no process started later inherits it. DB_POOL_MAX_SIZE=0 turns it off.
_web_default = "DB_POOL_MAX_SIZE" not in os.environ
if _web_default:
    os.environ["DB_POOL_MAX_SIZE"] = "16"
django_asgi_app = get_asgi_application()
if _web_default:
    del os.environ["DB_POOL_MAX_SIZE"]

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from tutor.dialogue.routing import websocket_urlpatterns  # noqa: E402

if settings.TURN_EXECUTOR == "inprocess":  # turns run in this process: load their models now
    from tutor.dialogue.tutoring import warm_up_in_background  # noqa: E402

    warm_up_in_background()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
