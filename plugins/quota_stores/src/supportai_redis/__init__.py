"""supportai-redis: rate limits and cost caps enforced in Redis across any number of workers.

Select it with ``SUPPORTAI_QUOTA_STORE=redis``; configure it with
``SUPPORTAI_REDIS_*`` (see :class:`RedisQuotaSettings`).
"""

from supportai_redis.settings import RedisQuotaSettings

__all__ = ["RedisQuotaSettings", "__version__"]

__version__ = "0.1.0"
