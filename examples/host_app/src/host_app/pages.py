"""Lumen's own pages: sign-in, the chat, my cases, the ticket form and the admin page.

Pages are server-rendered shells (``string.Template`` over files in
``templates/``, every value HTML-escaped); the behaviour lives in plain
JavaScript under ``static/`` that calls supportai's API on the same origin with
the session cookie. No build step, no template engine dependency.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import parse_qs, quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from host_app import helpcenter
from host_app.auth import SESSION_KEY, LumenUser
from host_app.config import MOUNT_PATH, TICKET_FORM_PATH
from host_app.users import UserStore
from supportai.knowledge import KnowledgeStore

TEMPLATES = Path(__file__).resolve().parent / "templates"
CHAT_PATH = "/support/chat"
CASES_PATH = "/support/cases"
ADMIN_PATH = "/admin/support"

#: Every script and style is a file under /static: no inline code, so a strict
#: policy costs nothing and stops injected markup from running.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

MAX_FORM_BYTES = 16 * 1024


@cache
def template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


async def posted_form(request: Request, max_fields: int) -> dict[str, list[str]] | None:
    """The posted form, or ``None`` when it must be refused (answer 413): larger than
    :data:`MAX_FORM_BYTES`, or with more than ``max_fields`` fields, for which
    ``parse_qs`` raises, a server error if left unhandled. Every form handler reads
    through here so that no handler can forget either bound."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        return parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=max_fields)
    except ValueError:
        return None


def _user(request: Request) -> LumenUser | None:
    user = request.user if "user" in request.scope else None
    return user if isinstance(user, LumenUser) else None


def _nav(user: LumenUser | None, page: str) -> str:
    if user is None:
        return '<a href="/help">Help center</a>'
    links = [
        (CHAT_PATH, "Assistant", "chat"),
        (CASES_PATH, "My cases", "cases"),
        ("/help", "Help center", "help"),
    ]
    if user.is_admin:
        links.append((ADMIN_PATH, "Admin", "admin"))
    return "".join(
        f'<a href="{href}"{" class=current" if key == page else ""}>{_e(label)}</a>'
        for href, label, key in links
    )


def _who(request: Request, user: LumenUser | None) -> str:
    if user is None:
        return ""
    tenant = _tenant_name(request, user)
    return (
        f'<span class="user-name">{_e(user.display_name)}</span> '
        f'<span class="muted">· {_e(tenant)}</span>'
        '<form method="post" action="/logout" class="logout">'
        '<button type="submit" class="link">Sign out</button></form>'
    )


def _tenant_name(request: Request, user: LumenUser) -> str:
    users: UserStore = request.app.state.users
    return users.tenant_name(user.tenant_id)


def render(
    request: Request,
    page: str,
    title: str,
    content: str,
    *,
    scripts: tuple[str, ...] = (),
    status_code: int = 200,
) -> HTMLResponse:
    user = _user(request)
    body = template("layout.html").substitute(
        title=_e(title),
        api=_e(MOUNT_PATH),
        page=_e(page),
        user_name=_e(user.display_name if user else ""),
        tenant_name=_e(_tenant_name(request, user) if user else ""),
        is_admin="true" if user and user.is_admin else "false",
        nav=_nav(user, page),
        who=_who(request, user),
        content=content,
        scripts="\n".join(f'  <script src="{_e(_script_url(s))}" defer></script>' for s in scripts),
    )
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def _script_url(name: str) -> str:
    """A file under /static, or an absolute path as is (supportai's widget.js)."""
    return name if name.startswith("/") else f"/static/{name}"


#: supportai serves its chat widget itself (docs/widget.md): one script tag, no build step.
WIDGET_SCRIPT = f"{MOUNT_PATH}/widget.js"


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _safe_next(value: str | None) -> str:
    """Only same-site paths: an open redirect after login is a phishing aid."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return CHAT_PATH


async def index(request: Request) -> Response:
    return RedirectResponse(CHAT_PATH if _user(request) else "/login", status_code=303)


async def login_form(request: Request) -> Response:
    if _user(request):
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request, next_path=_safe_next(request.query_params.get("next")))


def _login_page(
    request: Request, *, next_path: str, email: str = "", error: str = "", status_code: int = 200
) -> HTMLResponse:
    content = template("login.html").substitute(
        next=_e(next_path),
        email=_e(email),
        error=f'<p class="notice error" role="alert">{_e(error)}</p>' if error else "",
    )
    return render(request, "login", "Sign in", content, status_code=status_code)


async def login(request: Request) -> Response:
    form = await posted_form(request, max_fields=10)
    if form is None:
        return _login_page(request, next_path=CHAT_PATH, error="Form too large.", status_code=413)
    email = (form.get("email") or [""])[0][:320]
    password = (form.get("password") or [""])[0][:1024]
    next_path = _safe_next((form.get("next") or [""])[0])
    users: UserStore = request.app.state.users
    # scrypt is slow on purpose: keep it off the event loop.
    account = await anyio.to_thread.run_sync(users.authenticate, email, password)
    if account is None:
        return _login_page(
            request,
            next_path=next_path,
            email=email,
            error="That e-mail and password do not match a Lumen account.",
            status_code=401,
        )
    request.session.clear()  # a fresh session on sign-in: no fixation
    request.session[SESSION_KEY] = account.id
    return RedirectResponse(next_path, status_code=303)


async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def chat(request: Request) -> Response:
    if not _user(request):
        # The chat is the product's front door: answer 200 with the sign-in form
        # (which comes back here) rather than a redirect.
        return _login_page(request, next_path=CHAT_PATH)
    return render(
        request,
        "chat",
        "Assistant",
        template("chat.html").substitute(),
        scripts=(WIDGET_SCRIPT, "common.js", "chat.js"),
    )


async def cases(request: Request) -> Response:
    if not _user(request):
        return _login_redirect(request)
    return render(
        request,
        "cases",
        "My cases",
        template("cases.html").substitute(),
        scripts=("common.js", "cases.js"),
    )


async def ticket_form(request: Request) -> Response:
    """The host's own ticket form: supportai's escalation URL points here."""
    if not _user(request):
        return _login_redirect(request)
    return render(
        request,
        "ticket",
        "Contact support",
        template("ticket.html").substitute(),
        scripts=("common.js", "ticket.js"),
    )


def admins_only(request: Request) -> Response:
    """The 403 page of the admin pages, for a signed-in user who is not an admin."""
    content = template("message.html").substitute(
        heading="Admins only",
        text="This page is for your company's Lumen support administrators.",
        link=CHAT_PATH,
        link_text="Back to the assistant",
    )
    return render(request, "admin", "Admins only", content, status_code=403)


async def admin(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    if not user.is_admin:
        return admins_only(request)
    content = template("admin.html").substitute(tenant_name=_e(_tenant_name(request, user)))
    return render(request, "admin", "Admin", content, scripts=("common.js", "admin.js"))


async def help_index(request: Request) -> Response:
    """Signed in: the company's help center (its admins' articles, what the assistant
    answers from). Visitors: the public one shipped with Lumen."""
    user = _user(request)
    if user is None:
        found = helpcenter.articles(request.app.state.config.articles_dir)
    else:
        published = await _knowledge(request).published_articles(user.tenant_id)
        found = sorted(((a.slug, a.title) for a in published), key=lambda i: i[1].lower())
    links = "".join(f'<li><a href="/help/{_e(slug)}">{_e(title)}</a></li>' for slug, title in found)
    content = f'<section class="card article"><h1>Lumen help center</h1><ul>{links}</ul></section>'
    return render(request, "help", "Help center", content)


async def help_article(request: Request) -> Response:
    slug = str(request.path_params["slug"])
    user = _user(request)
    title, body = "", ""
    if user is None:
        path = helpcenter.article_path(request.app.state.config.articles_dir, slug)
        if path is not None:
            title, markdown = helpcenter.read_article(path)
            body = helpcenter.render_markdown(markdown)[1]
    else:
        article = await _knowledge(request).published_article(user.tenant_id, slug)
        if article is not None:
            title, body = article.title, helpcenter.render_markdown(article.body)[1]
    if not title:
        content = (
            '<section class="card article"><h1>Article not found</h1>'
            '<p><a href="/help">All help articles</a></p></section>'
        )
        return render(request, "help", "Not found", content, status_code=404)
    content = (
        f'<article class="card article"><p class="small"><a href="/help">Help center</a></p>'
        f"<h1>{_e(title)}</h1>{body}</article>"
    )
    if _user(request) is None:
        return render(request, "help", title or slug, content)
    # Signed-in readers get the assistant under the article: the same widget as the chat
    # page, on its own (escalation shows the ticket link there).
    content += (
        '<section class="article help-assistant" aria-label="Ask the assistant">'
        '<supportai-chat heading="Still stuck? Ask the Lumen assistant" '
        'placeholder="Ask about this article or anything else in Lumen..."></supportai-chat>'
        "</section>"
    )
    return render(request, "help", title or slug, content, scripts=(WIDGET_SCRIPT,))


def _knowledge(request: Request) -> KnowledgeStore:
    return KnowledgeStore(request.app.state.support.state.supportai.database)


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


routes = [
    Route("/", index),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route(CHAT_PATH, chat),
    Route(CASES_PATH, cases),
    Route(TICKET_FORM_PATH, ticket_form),
    Route(ADMIN_PATH, admin),
    Route("/help", help_index),
    Route("/help/{slug}", help_article),
    Route("/healthz", healthz),
]
