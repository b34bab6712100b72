"""Settings for bench variants: the product's settings plus candidate changes.

Only used when ``turn_latency.py --variant ...`` names a settings change; the
default run uses ``tutor.settings`` untouched. ``BENCH_VARIANTS`` is a comma
list (see ``VARIANTS`` in turn_latency.py).
"""

import os

from tutor.settings import *  # noqa: F403
from tutor.settings import CHANNEL_LAYERS

VARIANTS = set(filter(None, os.environ.get("BENCH_VARIANTS", "").split(",")))

if "capacity" in VARIANTS:
    # channels_redis puts every socket of one server process behind one Redis
    # key whose capacity (100 by default) is shared; group_send drops over it.
    CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] = 2000

if "socket_timeout" in VARIANTS:
    # redis-py 8 defaults socket_timeout to 5 s, the same as channels_redis's
    # BZPOPMIN timeout: a socket with no channel traffic for 5 s can fail its
    # receive with TimeoutError, which kills the consumer and drops the socket.
    # (The product settings adopted this in 83781ca; then this is a no-op.)
    CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [
        {**(host if isinstance(host, dict) else {"address": host}), "socket_timeout": 15}
        for host in CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    ]

if "pubsub" in VARIANTS:
    # Redis PUBLISH/SUBSCRIBE: one command per group_send, no per-message
    # polling and clean-up on the receiving side, no capacity to overflow.
    CHANNEL_LAYERS["default"] = {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": CHANNEL_LAYERS["default"]["CONFIG"]["hosts"], "prefix": "tutorgraph"},
    }
