// The assistant page: disclosure first, then conversations, streamed answers with
// citations, polite refusals, the quota left, feedback, and escalation to a human.
"use strict";

(() => {
  const { call, el, rich, sse, politeReason, errorText, when, dollars, newKey, show, notice, escalationKey, latestOnly } = Lumen;
  const listLoads = latestOnly();
  const $ = (id) => document.getElementById(id);

  const state = { conversationId: null, conversation: null, busy: false, disclosureVersion: null };

  // -- disclosure -------------------------------------------------------------------

  async function start() {
    let status;
    try {
      status = await call("GET", "/disclosure/status");
    } catch (err) {
      show($("chat-panel"));
      notice($("notice"), errorText(err), "error");
      return;
    }
    state.disclosureVersion = status.current_version;
    if (status.required && !status.accepted) {
      showDisclosure();
    } else {
      await openChat();
    }
  }

  function showDisclosure() {
    $("disclosure-version").textContent = state.disclosureVersion || "";
    show($("chat-panel"), false);
    show($("disclosure"));
    $("accept-disclosure").focus();
  }

  $("accept-disclosure").addEventListener("click", async () => {
    $("accept-disclosure").disabled = true;
    try {
      await call("POST", "/disclosure/accept", { version: state.disclosureVersion });
      show($("disclosure"), false);
      await openChat();
    } catch (err) {
      if (err.reason === "validation_error") {
        // The disclosure changed while the page was open: fetch the new text's version.
        await start();
      } else {
        notice($("notice"), errorText(err), "error");
      }
    } finally {
      $("accept-disclosure").disabled = false;
    }
  });

  async function openChat() {
    show($("chat-panel"));
    // Nothing can be sent until the page knows which conversation is open: a question
    // typed during loading would otherwise race the reset below.
    setReadOnly(true);
    await Promise.all([loadConversations(), loadQuota()]);
    const match = /^#c=(\d+)$/.exec(location.hash);
    if (match) await openConversation(Number(match[1]));
    else resetConversation();
    $("question").focus();
  }

  // -- conversations ----------------------------------------------------------------

  async function loadConversations() {
    const list = $("conversation-list");
    const ticket = listLoads.start();
    try {
      const page = await call("GET", "/conversations?limit=50");
      if (!listLoads.isCurrent(ticket)) return;
      list.replaceChildren(...page.items.map((c) => el("li", {},
        el("a", {
          href: `#c=${c.conversation_id}`,
          class: c.conversation_id === state.conversationId ? "current" : null,
          dataset: { conversationId: c.conversation_id },
          onclick: (event) => { event.preventDefault(); openConversation(c.conversation_id); },
        }, c.title || `Conversation ${c.conversation_id}`),
        c.status === "escalated" ? el("span", { class: "badge" }, "with support") : null,
      )));
      if (!page.items.length) list.replaceChildren(el("li", { class: "muted" }, "No conversations yet."));
    } catch (err) {
      list.replaceChildren(el("li", { class: "muted" }, errorText(err)));
    }
  }

  function resetConversation() {
    state.conversationId = null;
    state.conversation = null;
    $("conversation-title").textContent = "New conversation";
    $("messages").replaceChildren(el("li", { class: "hint muted" },
      "Ask anything about Lumen. Answers come from the Lumen help center, with links to the articles."));
    notice($("notice"), "");
    setReadOnly(false);
    $("escalate").disabled = true;
    resetDelete(false);
    history.replaceState(null, "", location.pathname);
    for (const a of $("conversation-list").querySelectorAll("a")) a.classList.remove("current");
  }

  async function openConversation(id) {
    try {
      const conversation = await call("GET", `/conversations/${id}`);
      state.conversationId = id;
      state.conversation = conversation;
      history.replaceState(null, "", `#c=${id}`);
      $("conversation-title").textContent = conversation.title || `Conversation ${id}`;
      $("messages").replaceChildren(...conversation.messages.map(renderStored));
      if (conversation.next_cursor !== null) $("messages").prepend(earlierButton(id, conversation.next_cursor));
      notice($("notice"), "");
      const escalated = conversation.status === "escalated";
      setReadOnly(escalated);
      $("escalate").disabled = escalated;
      resetDelete(true);
      if (escalated) notice($("notice"), politeReason("conversation_escalated"), "info");
      for (const a of $("conversation-list").querySelectorAll("a")) {
        a.classList.toggle("current", Number(a.dataset.conversationId) === id);
      }
      scrollDown();
    } catch (err) {
      resetConversation();  // e.g. a deleted conversation's old link: start a fresh one
      notice($("notice"), errorText(err), "error");
    }
  }

  // The conversation comes a page at a time, newest first: older pages on request.
  function earlierButton(id, cursor) {
    const button = el("button", { type: "button", class: "secondary" }, "Show earlier messages");
    const item = el("li", { class: "earlier" }, button);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const page = await call("GET", `/conversations/${id}?before=${cursor}`);
        if (state.conversationId !== id) return;  // the user opened another one meanwhile
        const list = $("messages");
        const fromBottom = list.scrollHeight - list.scrollTop;
        item.replaceWith(...page.messages.map(renderStored));
        if (page.next_cursor !== null) list.prepend(earlierButton(id, page.next_cursor));
        list.scrollTop = list.scrollHeight - fromBottom;  // keep the reader where they were
      } catch (err) {
        button.disabled = false;
        notice($("notice"), errorText(err), "error");
      }
    });
    return item;
  }

  function setReadOnly(readOnly) {
    $("question").disabled = readOnly;
    $("send").disabled = readOnly;
  }

  $("new-conversation").addEventListener("click", () => { resetConversation(); $("question").focus(); });

  // -- messages ---------------------------------------------------------------------

  function bubble(role) {
    const text = el("div", { class: "text" });
    const citations = el("ul", { class: "citations", hidden: true });
    const extra = el("div", { class: "extra" });
    const item = el("li", { class: `message ${role}` },
      el("div", { class: "who" }, role === "user" ? "You" : "Lumen assistant"), text, citations, extra);
    return { item, text, citations, extra };
  }

  function addCitation(view, citation) {
    show(view.citations);
    if (!view.citations.childElementCount) view.citations.append(el("li", { class: "label" }, "Sources:"));
    const label = citation.title || citation.source_id;
    view.citations.append(el("li", { class: "citation" },
      citation.url ? el("a", { href: citation.url, target: "_blank", rel: "noopener" }, label) : label));
  }

  function renderStored(message) {
    const view = bubble(message.role);
    rich(view.text, message.content);
    for (const citation of message.citations || []) addCitation(view, citation);
    if (message.role === "user" && message.status === "refused") {
      view.item.classList.add("refused-question");
    }
    if (message.role === "assistant") {
      if (message.status === "blocked") view.item.classList.add("refusal");
      if (message.status === "interrupted") view.extra.append(el("p", { class: "muted" }, "(answer interrupted)"));
      if (message.status !== "error") view.extra.append(feedbackControls(message.message_id));
    }
    return view.item;
  }

  function scrollDown() {
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  }

  // -- the turn ---------------------------------------------------------------------

  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = $("question").value.trim();
    if (!content || state.busy) return;
    state.busy = true;
    setReadOnly(true);
    notice($("notice"), "");
    try {
      await ask(content);
    } finally {
      state.busy = false;
      if (!state.conversation || state.conversation.status !== "escalated") setReadOnly(false);
      $("question").focus();
    }
  });

  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });

  async function ask(content) {
    if (state.conversationId === null) {
      try {
        const created = await call("POST", "/conversations", { title: content.slice(0, 80) });
        state.conversationId = created.conversation_id;
        state.conversation = { status: created.status, title: created.title };
        history.replaceState(null, "", `#c=${created.conversation_id}`);
        $("conversation-title").textContent = created.title || `Conversation ${created.conversation_id}`;
        $("messages").replaceChildren();
        resetDelete(true);
        loadConversations();
      } catch (err) {
        notice($("notice"), errorText(err), "error");
        return;
      }
    }
    const question = bubble("user");
    question.text.textContent = content;
    const answer = bubble("assistant");
    answer.item.classList.add("streaming");
    answer.item.setAttribute("aria-busy", "true");
    $("messages").append(question.item, answer.item);
    $("question").value = "";
    scrollDown();

    let response;
    try {
      response = await call("POST", `/conversations/${state.conversationId}/messages`,
        { content, idempotency_key: newKey() }, { stream: true });
    } catch (err) {
      answer.item.remove();
      question.item.classList.add("failed");
      if (err.reason === "disclosure_required") {
        showDisclosure();
      } else {
        if (err.reason === "conversation_escalated") setEscalated();
        notice($("notice"), errorText(err), err.reason === "rate_limited" ? "warning" : "error");
      }
      $("question").value = content;
      loadQuota();
      return;
    }

    let completed = null;
    let answerText = "";
    try {
      for await (const { event, data } of sse(response)) {
        if (event === "delta") {
          // Re-rendering the whole answer per delta is fine at help-center sizes
          // (under a few kB) and keeps **bold** split across deltas right.
          answerText += data.text;
          rich(answer.text, answerText);
          scrollDown();
        } else if (event === "citation") {
          addCitation(answer, data);
        } else if (event === "refusal") {
          answer.item.classList.add("refusal");
          if (data.stage === "classifier") {
            question.item.classList.add("refused-question");
            answer.text.textContent = politeReason("intent_refused");
          } else {
            answer.extra.append(el("p", { class: "refusal-note" }, politeReason(data.reason)));
          }
          answer.extra.append(humanLink());
        } else if (event === "error") {
          answer.item.classList.add("failed");
          answer.extra.append(el("p", { class: "refusal-note" }, politeReason(data.reason, null, data.detail)));
        } else if (event === "turn.completed") {
          completed = data;
        }
      }
    } catch (_) {
      answer.extra.append(el("p", { class: "refusal-note" },
        "The connection dropped before the answer finished. What arrived is kept; ask again to continue."));
    }
    answer.item.classList.remove("streaming");
    answer.item.removeAttribute("aria-busy");
    if (completed) {
      answer.item.dataset.status = completed.status;
      if (completed.message_id) {
        answer.item.dataset.messageId = completed.message_id;
        answer.extra.append(feedbackControls(completed.message_id));
      }
    }
    $("escalate").disabled = false;
    scrollDown();
    loadQuota();
  }

  function humanLink() {
    return el("button", { type: "button", class: "link", onclick: () => $("escalate").click() }, "Talk to a human");
  }

  function setEscalated() {
    if (state.conversation) state.conversation.status = "escalated";
    setReadOnly(true);
    $("escalate").disabled = true;
  }

  // -- feedback ---------------------------------------------------------------------

  function feedbackControls(messageId) {
    const box = el("div", { class: "feedback" });
    const form = el("form", { class: "feedback-form", hidden: true });
    let helpful = null;
    const choose = (value) => {
      helpful = value;
      up.classList.toggle("chosen", value === true);
      down.classList.toggle("chosen", value === false);
      show(form);
      comment.placeholder = value ? "What was good? (optional)" : "What was wrong or missing? (optional)";
      comment.focus();
    };
    const up = el("button", { type: "button", class: "thumb up", title: "Helpful", onclick: () => choose(true) }, "Yes");
    const down = el("button", { type: "button", class: "thumb down", title: "Not helpful", onclick: () => choose(false) }, "No");
    const rating = el("select", { name: "rating", "aria-label": "Rating" },
      el("option", { value: "" }, "Rate (optional)"),
      ...[5, 4, 3, 2, 1].map((n) => el("option", { value: n }, `${n} – ${["", "poor", "weak", "okay", "good", "great"][n]}`)));
    const comment = el("textarea", { name: "comment", rows: 2, maxlength: 4000, "aria-label": "Comment" });
    const sendButton = el("button", { type: "submit", class: "secondary" }, "Send feedback");
    const status = el("span", { class: "muted feedback-status", role: "status" });
    form.append(rating, comment, sendButton);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { helpful, message_id: messageId };
      if (rating.value) body.rating = Number(rating.value);
      if (comment.value.trim()) body.comment = comment.value.trim();
      sendButton.disabled = true;
      try {
        const result = await call("POST", `/conversations/${state.conversationId}/feedback`, body);
        show(form, false);
        status.textContent = result.training_candidate_id
          ? "Thanks. Our team will review this answer."
          : "Thanks for the feedback.";
        box.dataset.sent = "true";
      } catch (err) {
        status.textContent = errorText(err);
      } finally {
        sendButton.disabled = false;
      }
    });
    box.append(el("span", { class: "muted" }, "Was this helpful?"), up, down, status, form);
    return box;
  }

  // -- quota ------------------------------------------------------------------------

  async function loadQuota() {
    const box = $("quota");
    try {
      const quota = await call("GET", "/quota");
      const turns = quota.user_turns;
      const cost = quota.user_cost_micros;
      const minutes = Math.round(quota.window_s / 60);
      const windowText = minutes <= 1 ? "this minute" : `in ${minutes} minutes`;
      box.replaceChildren(
        el("h2", {}, "Your allowance"),
        el("p", { id: "quota-turns" }, `${turns.remaining} of ${turns.limit} questions left ${windowText}`),
        el("p", { id: "quota-cost" }, `${dollars(cost.remaining)} of ${dollars(cost.limit)} left today`,
          el("br"), el("span", { class: "small" }, `renews ${when(cost.resets_at)}`)),
      );
    } catch (err) {
      box.replaceChildren(el("p", {}, errorText(err)));
    }
  }

  // -- GDPR delete: two clicks, no modal dialog ---------------------------------------

  function resetDelete(visible) {
    const button = $("delete-conversation");
    button.hidden = !visible;
    button.className = "link";
    button.textContent = "Delete conversation";
    delete button.dataset.armed;
  }

  $("delete-conversation").addEventListener("click", async () => {
    const button = $("delete-conversation");
    if (!button.dataset.armed) {
      button.dataset.armed = "true";
      button.className = "danger";
      button.textContent = "Delete it and everything in it for good";
      return;
    }
    try {
      await call("DELETE", `/conversations/${state.conversationId}`);
      resetConversation();
      notice($("notice"), "The conversation and everything derived from it were deleted.", "info");
      await loadConversations();
    } catch (err) {
      resetDelete(true);
      notice($("notice"), errorText(err), "error");
    }
  });

  // -- escalation -------------------------------------------------------------------

  $("escalate").addEventListener("click", async () => {
    if (state.conversationId === null) return;
    $("escalate").disabled = true;
    try {
      const result = await call("POST", `/conversations/${state.conversationId}/escalate`,
        { reason: "customer_request" });
      // The ticket form prefills itself from this snapshot (it re-fetches the
      // conversation when the snapshot is missing, e.g. in another tab).
      sessionStorage.setItem(escalationKey(state.conversationId), JSON.stringify(result.snapshot));
      window.location.assign(result.ticket_url);
    } catch (err) {
      $("escalate").disabled = false;
      notice($("notice"), errorText(err), "error");
    }
  });

  start();
})();
