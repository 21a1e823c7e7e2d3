// The support admin's page: review training candidates (approve / reject), work the
// tenant's cases (public or internal comments, status), edit the help-center articles the
// assistant answers from, and read the audit log.
// Everything goes through supportai's admin API, which scopes it to the admin's tenant.
"use strict";

(() => {
  const { call, el, rich, errorText, when, show, notice, latestOnly } = Lumen;
  const candidateLoads = latestOnly();
  const caseLoads = latestOnly();
  const articleLoads = latestOnly();
  const $ = (id) => document.getElementById(id);
  const TYPES = {
    negative_feedback: "Negative feedback",
    output_blocked: "Blocked answer",
    intent_refused: "Refused question",
  };

  function say(text, kind = "info") { notice($("admin-notice"), text, kind); }

  // -- tabs -------------------------------------------------------------------------

  const loaders = { queue: loadCandidates, cases: loadCases, articles: loadArticles, audit: loadAudit };
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".tab")) other.classList.toggle("active", other === tab);
      for (const name of Object.keys(loaders)) show($(`tab-${name}`), name === tab.dataset.tab);
      say("");
      loaders[tab.dataset.tab]();
    });
  }

  // -- review queue -----------------------------------------------------------------

  async function loadCandidates() {
    const status = $("candidate-status").value;
    const query = status ? `?status=${status}&limit=50` : "?limit=50";
    const ticket = candidateLoads.start();
    try {
      const page = await call("GET", `/admin/candidates${query}`);
      if (!candidateLoads.isCurrent(ticket)) return;
      $("candidate-list").replaceChildren(...page.items.map(candidateCard));
      show($("no-candidates"), !page.items.length);
    } catch (err) {
      $("candidate-list").replaceChildren(el("li", {}, errorText(err)));
    }
  }

  function candidateCard(c) {
    const s = c.snapshot || {};
    const verdict = [
      s.helpful === false ? "not helpful" : s.helpful === true ? "helpful" : null,
      s.rating ? `rated ${s.rating}/5` : null,
      s.intent ? `intent ${s.intent}` : null,
    ].filter(Boolean).join(" · ");
    const card = el("li", { class: "candidate", dataset: { candidateId: c.candidate_id, status: c.status } },
      el("div", {}, el("strong", {}, `#${c.candidate_id} ${TYPES[c.candidate_type] || c.candidate_type}`),
        el("span", { class: `badge status-${c.status}` }, c.status),
        el("span", { class: "small muted" }, ` ${when(c.created_at)}${verdict ? " · " + verdict : ""}`)),
      el("div", { class: "exchange" },
        el("div", {}, el("strong", {}, "Question: "), s.question || "—"),
        el("div", {}, el("strong", {}, "Answer: "), richSpan(s.answer || "—"))),
      c.comment ? el("p", {}, el("strong", {}, "User's comment: "), c.comment) : null,
      c.review_note ? el("p", { class: "small muted" }, `Review note: ${c.review_note}`) : null,
    );
    if (c.conversation_id) {
      const holder = el("div", {});
      card.append(el("button", {
        type: "button", class: "link small",
        onclick: async () => { holder.replaceChildren(await conversationView(c.conversation_id)); },
      }, "Show the whole conversation"), holder);
    }
    if (c.status === "queued" || c.status === "rejected" || c.status === "approved") {
      card.append(reviewActions(c));
    }
    return card;
  }

  function richSpan(text) {
    const span = el("span", {});
    rich(span, text);
    return span;
  }

  function reviewActions(c) {
    const corrected = el("textarea", { rows: 2, maxlength: 20000, placeholder: "What the assistant should have said (needed for the fine-tuning export)", "aria-label": "Corrected answer" });
    const reason = el("input", { type: "text", maxlength: 2000, placeholder: "Why reject? (required to reject)", "aria-label": "Reject reason" });
    const approve = el("button", { type: "button", class: "primary approve" }, "Approve");
    const reject = el("button", { type: "button", class: "secondary reject" }, "Reject");
    approve.disabled = c.status === "approved";
    reject.disabled = c.status === "rejected";
    approve.addEventListener("click", async () => {
      const body = {};
      if (corrected.value.trim()) body.corrected_answer = corrected.value.trim();
      await review(c.candidate_id, "approve", body);
    });
    reject.addEventListener("click", async () => {
      if (!reason.value.trim()) { reason.focus(); say("Give a reason to reject.", "warning"); return; }
      await review(c.candidate_id, "reject", { reason: reason.value.trim() });
    });
    return el("div", { class: "actions" }, corrected, reason, approve, reject);
  }

  async function review(id, action, body) {
    try {
      const result = await call("POST", `/admin/candidates/${id}/${action}`, body);
      say(`Candidate #${id} ${result.status}.`, "info");
      await loadCandidates();
    } catch (err) {
      say(errorText(err), "error");
    }
  }

  async function conversationView(id) {
    try {
      const c = await call("GET", `/admin/conversations/${id}`);
      return el("ol", { class: "comments" }, c.messages.map((m) => el("li", { class: "comment" },
        el("div", { class: "small muted" }, `${m.role === "user" ? c.user_id : "assistant"} · ${m.status} · ${when(m.created_at)}`),
        el("div", { class: "text" }, m.content))));
    } catch (err) {
      return el("p", { class: "small" }, errorText(err));
    }
  }

  $("candidate-status").addEventListener("change", loadCandidates);

  // -- cases ------------------------------------------------------------------------

  async function loadCases() {
    const status = $("admin-case-status").value;
    const query = status ? `?status_filter=${status}&limit=50` : "?limit=50";
    const ticket = caseLoads.start();
    try {
      const page = await call("GET", `/admin/cases${query}`);
      if (!caseLoads.isCurrent(ticket)) return;
      $("admin-case-list").replaceChildren(...page.items.map((c) => el("li", {},
        el("a", { href: "#", dataset: { caseId: c.case_id }, onclick: (e) => { e.preventDefault(); openCase(c.case_id); } }, c.subject),
        el("span", { class: `badge status-${c.status}` }, c.status),
        el("div", { class: "small muted" }, `#${c.case_id} · ${c.user_id} · ${c.priority} · ${when(c.updated_at)}`))));
      if (!page.items.length) $("admin-case-list").replaceChildren(el("li", { class: "muted" }, "No cases."));
    } catch (err) {
      $("admin-case-list").replaceChildren(el("li", {}, errorText(err)));
    }
  }

  async function openCase(id) {
    const box = $("admin-case-detail");
    try {
      const c = await call("GET", `/admin/cases/${id}`);
      const statusSelect = el("select", { "aria-label": "Case status" },
        ["open", "pending", "resolved", "closed"].map((s) => el("option", { value: s, selected: s === c.status }, s)));
      statusSelect.addEventListener("change", async () => {
        try {
          await call("POST", `/admin/cases/${id}/status`, { status: statusSelect.value });
          say(`Case #${id} is now ${statusSelect.value}.`);
          await Promise.all([openCase(id), loadCases()]);
        } catch (err) { say(errorText(err), "error"); }
      });
      const text = el("textarea", { rows: 3, maxlength: 10000, required: true, "aria-label": "Comment" });
      const visibility = el("select", { "aria-label": "Visibility" },
        el("option", { value: "public" }, "Reply to the customer"),
        el("option", { value: "internal" }, "Internal note (admins only)"));
      const form = el("form", { class: "stack" }, text, visibility, el("button", { type: "submit", class: "primary" }, "Add comment"));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!text.value.trim()) return;
        try {
          await call("POST", `/admin/cases/${id}/comments`, { body: text.value.trim(), visibility: visibility.value });
          await openCase(id);
        } catch (err) { say(errorText(err), "error"); }
      });
      box.replaceChildren(
        el("h2", {}, `#${c.case_id} ${c.subject}`),
        el("p", { class: "small" }, `From ${c.user_id} · priority ${c.priority} · opened ${when(c.created_at)}`),
        el("label", { class: "inline" }, "Status", statusSelect),
        el("div", { class: "text description" }, c.description),
        el("h3", {}, "Comments"),
        el("ol", { class: "comments" }, c.comments.map((m) => el("li", { class: `comment ${m.author_role} ${m.visibility}` },
          el("div", { class: "small muted" }, `${m.author_id} · ${m.visibility} · ${when(m.created_at)}`),
          el("div", { class: "text" }, m.body)))),
        form,
      );
      show(box);
    } catch (err) {
      box.replaceChildren(el("p", {}, errorText(err)));
      show(box);
    }
  }

  $("admin-case-status").addEventListener("change", loadCases);

  // -- help-center articles -----------------------------------------------------------

  async function loadArticles() {
    const published = $("article-published").value;
    const query = published ? `?published=${published}&limit=200` : "?limit=200";
    const ticket = articleLoads.start();
    try {
      const page = await call("GET", `/admin/articles${query}`);
      if (!articleLoads.isCurrent(ticket)) return;
      const items = [...page.items].sort((a, b) => a.title.localeCompare(b.title));
      $("article-list").replaceChildren(...items.map((a) => el("li", {},
        el("a", { href: "#", dataset: { articleId: a.article_id }, onclick: (e) => { e.preventDefault(); openArticle(a.article_id); } }, a.title),
        el("span", { class: `badge status-${a.published ? "published" : "draft"}` }, a.published ? "published" : "draft"),
        el("div", { class: "small muted" }, `${a.slug} · ${a.locale}${a.tags.length ? " · " + a.tags.join(", ") : ""} · ${when(a.updated_at)}`))));
      if (!items.length) $("article-list").replaceChildren(el("li", { class: "muted" }, "No articles."));
    } catch (err) {
      $("article-list").replaceChildren(el("li", {}, errorText(err)));
    }
  }

  async function openArticle(id) {
    const box = $("article-detail");
    try {
      const a = await call("GET", `/admin/articles/${id}`);
      const title = el("input", { type: "text", value: a.title, maxlength: 300, required: true, "aria-label": "Title" });
      const body = el("textarea", { rows: 14, maxlength: 200000, required: true, "aria-label": "Article body (Markdown)" });
      body.value = a.body;
      const published = el("input", { type: "checkbox", checked: a.published, "aria-label": "Published" });
      const form = el("form", { class: "stack" },
        el("label", {}, "Title", title),
        el("label", {}, "Body (Markdown)", body),
        el("label", { class: "inline" }, published, " Published (drafts are never used in answers)"),
        el("button", { type: "submit", class: "primary" }, "Save"));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          // The revision we read: if another admin saved meanwhile, nothing is overwritten.
          const saved = await call("PATCH", `/admin/articles/${id}`, {
            title: title.value, body: body.value, published: published.checked, revision: a.revision,
          });
          say(saved.revision === a.revision ? "Nothing changed." : `Saved “${saved.title}”.`);
          await Promise.all([openArticle(id), loadArticles()]);
        } catch (err) {
          say(err.reason === "edit_conflict"
            ? "Someone else changed this article meanwhile. Reload it, then apply your change again."
            : errorText(err), "error");
        }
      });
      const remove = el("button", { type: "button", class: "secondary" }, "Delete article");
      remove.addEventListener("click", async () => {
        if (remove.dataset.armed !== "yes") {
          remove.dataset.armed = "yes";
          remove.textContent = "Click again to delete";
          return;
        }
        try {
          await call("DELETE", `/admin/articles/${id}?revision=${a.revision}`);
          say(`Deleted “${a.title}”.`);
          show(box, false);
          await loadArticles();
        } catch (err) { say(errorText(err), "error"); }
      });
      box.replaceChildren(
        el("h2", {}, a.title),
        el("p", { class: "small" }, `${a.slug} · ${a.locale} · revision ${a.revision}${a.url ? " · " : ""}`,
          a.url ? el("a", { href: a.url }, a.url) : null),
        form,
        el("div", { class: "actions" }, remove),
      );
      show(box);
    } catch (err) {
      box.replaceChildren(el("p", {}, errorText(err)));
      show(box);
    }
  }

  $("article-published").addEventListener("change", loadArticles);

  // -- audit --------------------------------------------------------------------------

  async function loadAudit() {
    try {
      const page = await call("GET", "/admin/audit-events?limit=100");
      $("audit-rows").replaceChildren(...page.items.map((a) => el("tr", {},
        el("td", {}, when(a.created_at)), el("td", {}, a.actor_id), el("td", {}, a.action),
        el("td", {}, `${a.target_type} #${a.target_id}`),
        el("td", {}, a.before_status || a.after_status ? `${a.before_status || "—"} → ${a.after_status || "—"}` : ""))));
    } catch (err) {
      $("audit-rows").replaceChildren(el("tr", {}, el("td", { colspan: 5 }, errorText(err))));
    }
  }

  loadCandidates();
})();
