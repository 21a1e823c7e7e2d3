// The assistant page: supportai's <supportai-chat> widget does the chat (disclosure,
// streamed answers, citations, feedback, escalation, allowance); this page adds what
// is Lumen's own: the list of conversations, the GDPR delete, the #c=<id> links, and
// the escalation snapshot the ticket form prefills from.
"use strict";

(() => {
  const { call, el, errorText, notice, escalationKey, latestOnly } = Lumen;
  const listLoads = latestOnly();
  const $ = (id) => document.getElementById(id);
  const widget = $("assistant");
  let current = null;

  // Open the conversation a link points at before the widget starts.
  const linked = /^#c=(\d+)$/.exec(location.hash);
  if (linked) widget.setAttribute("conversation-id", linked[1]);

  async function loadConversations() {
    const list = $("conversation-list");
    const ticket = listLoads.start();
    try {
      const page = await call("GET", "/conversations?limit=50");
      if (!listLoads.isCurrent(ticket)) return;
      list.replaceChildren(...page.items.map((c) => el("li", {},
        el("a", {
          href: `#c=${c.conversation_id}`,
          class: c.conversation_id === current ? "current" : null,
          dataset: { conversationId: c.conversation_id },
          onclick: (event) => { event.preventDefault(); widget.openConversation(c.conversation_id); },
        }, c.title || `Conversation ${c.conversation_id}`),
        c.status === "escalated" ? el("span", { class: "badge" }, "with support") : null,
      )));
      if (!page.items.length) list.replaceChildren(el("li", { class: "muted" }, "No conversations yet."));
    } catch (err) {
      list.replaceChildren(el("li", { class: "muted" }, errorText(err)));
    }
  }

  function markCurrent() {
    for (const a of $("conversation-list").querySelectorAll("a")) {
      a.classList.toggle("current", Number(a.dataset.conversationId) === current);
    }
  }

  widget.addEventListener("supportai-ready", () => loadConversations());

  widget.addEventListener("supportai-conversation", (event) => {
    const id = event.detail.conversation_id;
    const isNew = id !== null && !$("conversation-list").querySelector(`a[data-conversation-id="${id}"]`);
    current = id;
    history.replaceState(null, "", id === null ? location.pathname : `#c=${id}`);
    resetDelete(id !== null);
    if (isNew) loadConversations();
    else markCurrent();
  });

  widget.addEventListener("supportai-turn", () => loadConversations());

  // The ticket form prefills from this snapshot (it re-fetches the conversation when the
  // snapshot is missing, e.g. in another tab). The widget then shows the ticket link.
  widget.addEventListener("supportai-escalated", (event) => {
    sessionStorage.setItem(escalationKey(event.detail.conversation_id), JSON.stringify(event.detail.snapshot));
    loadConversations();
  });

  widget.addEventListener("supportai-unauthenticated", () => {
    window.location.assign("/login?next=" + encodeURIComponent(location.pathname));
  });

  // -- GDPR delete: two clicks, no modal dialog ---------------------------------------

  function resetDelete(visible) {
    const button = $("delete-conversation");
    button.hidden = !visible;
    button.className = "link delete-conversation";
    button.textContent = "Delete conversation";
    delete button.dataset.armed;
  }

  $("delete-conversation").addEventListener("click", async () => {
    const button = $("delete-conversation");
    if (!button.dataset.armed) {
      button.dataset.armed = "true";
      button.className = "danger delete-conversation";
      button.textContent = "Delete it and everything in it for good";
      return;
    }
    try {
      await call("DELETE", `/conversations/${current}`);
      widget.newConversation(false);
      notice($("notice"), "The conversation and everything derived from it were deleted.", "info");
      await loadConversations();
    } catch (err) {
      resetDelete(true);
      notice($("notice"), errorText(err), "error");
    }
  });
})();
