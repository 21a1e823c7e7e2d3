// My cases: the caller's support cases, their public comments, and a reply box.
"use strict";

(() => {
  const { call, el, errorText, when, show, latestOnly } = Lumen;
  const listLoads = latestOnly();
  const $ = (id) => document.getElementById(id);
  const OPEN = new Set(["open", "pending"]);

  async function loadList() {
    const filter = $("case-filter").value;
    const query = filter ? `?status_filter=${encodeURIComponent(filter)}` : "";
    const ticket = listLoads.start();
    try {
      const page = await call("GET", `/cases${query}`);
      if (!listLoads.isCurrent(ticket)) return;
      $("case-list").replaceChildren(...page.items.map((c) => el("li", {},
        el("a", {
          href: `#case-${c.case_id}`,
          dataset: { caseId: c.case_id },
          onclick: (event) => { event.preventDefault(); openCase(c.case_id); },
        }, c.subject),
        " ",
        el("span", { class: `badge status-${c.status}` }, c.status),
        el("div", { class: "small muted" }, `#${c.case_id} · ${c.priority} · updated ${when(c.updated_at)}`),
      )));
      show($("no-cases"), !page.items.length);
    } catch (err) {
      $("case-list").replaceChildren(el("li", {}, errorText(err)));
    }
  }

  async function openCase(id) {
    const box = $("case-detail");
    history.replaceState(null, "", `#case-${id}`);
    try {
      const c = await call("GET", `/cases/${id}`);
      const comments = c.comments.map((m) => el("li", { class: `comment ${m.author_role}` },
        el("div", { class: "small muted" }, `${m.author_role === "agent" ? "Lumen support" : "You"} · ${when(m.created_at)}`),
        el("div", { class: "text" }, m.body)));
      const reply = el("form", { class: "stack", id: "comment-form" },
        el("label", {}, "Add a comment", el("textarea", { name: "body", rows: 3, maxlength: 10000, required: true })),
        el("button", { type: "submit", class: "primary" }, "Send"));
      const status = el("p", { class: "small", role: "status" });
      reply.addEventListener("submit", async (event) => {
        event.preventDefault();
        const text = reply.elements.body.value.trim();
        if (!text) return;
        try {
          await call("POST", `/cases/${id}/comments`, { body: text });
          await openCase(id);
          loadList();
        } catch (err) {
          status.textContent = errorText(err);
        }
      });
      box.replaceChildren(
        el("h2", {}, c.subject),
        el("p", {}, el("span", { class: `badge status-${c.status}` }, c.status), ` · priority ${c.priority} · opened ${when(c.created_at)}`),
        c.conversation_id ? el("p", { class: "small" }, "From ", el("a", { href: `/support/chat#c=${c.conversation_id}` }, "your conversation with the assistant")) : null,
        el("div", { class: "text description" }, c.description),
        el("h3", {}, "Comments"),
        comments.length ? el("ol", { class: "comments" }, comments) : el("p", { class: "muted" }, "No comments yet."),
        OPEN.has(c.status) ? reply : el("p", { class: "muted" }, `This case is ${c.status}. Open a new case if you still need help.`),
        status,
      );
      show(box);
    } catch (err) {
      box.replaceChildren(el("p", {}, errorText(err)));
      show(box);
    }
  }

  $("case-filter").addEventListener("change", loadList);
  loadList();
  const match = /^#case-(\d+)$/.exec(location.hash);
  if (match) openCase(Number(match[1]));
})();
