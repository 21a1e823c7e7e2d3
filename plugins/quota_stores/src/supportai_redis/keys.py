"""Where the Redis quota store keeps what: one place for every key name.

Every key that belongs to a tenant starts with ``<prefix>{<tenant>}``, the same
hash tag :func:`supportai.quota.base.buckets_for` puts in its bucket keys. Redis
Cluster hashes only the text between the first ``{`` and ``}``, so a tenant's
buckets, reservation records and expiry index all live in one slot and every
Lua script touches keys of that one slot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeyLayout:
    """Key names under one prefix (``SUPPORTAI_REDIS_KEY_PREFIX``)."""

    prefix: str

    @staticmethod
    def tag(tenant_id: str) -> str:
        """The hash tag of a tenant, spelled exactly as ``buckets_for`` spells it."""
        return "{" + tenant_id + "}"

    def bucket(self, bucket_key: str) -> str:
        """A counter hash (fields ``used`` and ``reserved``) for a ``Bucket.key``."""
        return self.prefix + bucket_key

    def record_prefix(self, tenant_id: str) -> str:
        """Reservation records are ``<this><reservation id>`` (the expiry script builds them)."""
        return f"{self.prefix}{self.tag(tenant_id)}:r:"

    def record(self, tenant_id: str, reservation_id: str) -> str:
        """A reservation record hash: state, amount, expiry and its four bucket keys."""
        return self.record_prefix(tenant_id) + reservation_id

    def expiry_index(self, tenant_id: str) -> str:
        """Sorted set of the tenant's open reservation ids, scored by ``expires_at``."""
        return f"{self.prefix}{self.tag(tenant_id)}:rx"

    @property
    def tenants(self) -> str:
        """Set of tenant ids that ever reserved: what ``release_expired`` walks.

        Deliberately *without* a hash tag: it is read and written outside the
        scripts (SADD before a tenant's first reservation, SSCAN by the sweeper),
        never together with tenant keys, so its slot does not matter.
        """
        return f"{self.prefix}tenants"
