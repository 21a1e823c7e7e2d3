"""From the session cookie to ``request.user``: the only thing supportai needs from the host.

supportai's default caller resolver reads ``request.user.tenant_id``,
``request.user.identity`` and ``request.auth.scopes`` (for the
``support_ai_admin`` role), so the host's user object carries exactly those.
"""

from __future__ import annotations

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.requests import HTTPConnection

from host_app.users import Account, UserStore

SESSION_KEY = "uid"
ADMIN_SCOPE = "support_ai_admin"


class LumenUser(BaseUser):
    """A signed-in Lumen user, as Starlette and supportai see them."""

    def __init__(self, account: Account) -> None:
        self.account = account

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.account.display_name

    @property
    def identity(self) -> str:
        """The user id supportai stores: stable, opaque to supportai, unique within a tenant."""
        return self.account.handle

    @property
    def tenant_id(self) -> str:
        return self.account.tenant_id

    @property
    def is_admin(self) -> bool:
        return self.account.is_admin


def scopes_for(account: Account) -> list[str]:
    return ["authenticated", ADMIN_SCOPE] if account.is_admin else ["authenticated"]


class SessionBackend(AuthenticationBackend):
    """Reads the user id from the signed session cookie and loads the account.

    Loading the account on every request (instead of trusting what the cookie
    says) means a deleted or demoted user loses access at once.
    """

    def __init__(self, users: UserStore) -> None:
        self.users = users

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        user_id = conn.session.get(SESSION_KEY)
        if not isinstance(user_id, int):
            return None
        account = self.users.get(user_id)
        if account is None:
            conn.session.clear()
            return None
        return AuthCredentials(scopes_for(account)), LumenUser(account)
