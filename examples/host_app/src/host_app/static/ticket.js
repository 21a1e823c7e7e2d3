// Lumen's ticket form: the escalation URL lands here. It prefills from the snapshot the
// chat page left in sessionStorage, or re-fetches the conversation, and creates a case
// linked to the conversation.
"use strict";

(() => {
  const { call, errorText, notice, escalationKey } = Lumen;
  const $ = (id) => document.getElementById(id);
  const REASONS = {
    customer_request: "I asked to talk to a person",
    missing_knowledge: "The assistant did not know the answer",
    unsupported_request: "The assistant cannot do this for me",
    policy_restriction: "The assistant was not allowed to help",
    tool_failure: "The assistant could not look something up",
    other: "Other",
  };

  const params = new URLSearchParams(location.search);
  const raw = params.get("conversation_id");
  const conversationId = raw && /^\d+$/.test(raw) ? Number(raw) : null;

  function transcriptText(messages) {
    return messages
      .filter((m) => m.content)
      .map((m) => `${m.role === "user" ? "Me" : "Assistant"}: ${m.content}`)
      .join("\n\n");
  }

  function prefill(snapshot) {
    const messages = snapshot.transcript || snapshot.messages || [];
    const firstQuestion = messages.find((m) => m.role === "user");
    const subject = snapshot.title || (firstQuestion ? firstQuestion.content : "") || "Help with Lumen";
    $("ticket-subject").value = subject.slice(0, 120);
    const reason = snapshot.reason || snapshot.escalation_reason || "customer_request";
    const parts = [`Why I am asking for a person: ${REASONS[reason] || reason}.`];
    if (snapshot.note) parts.push(snapshot.note);
    if (messages.length) parts.push("My conversation with the Lumen assistant:\n\n" + transcriptText(messages));
    parts.push("Anything else you want us to know:\n");
    $("ticket-description").value = parts.join("\n\n").slice(0, 10000);
    $("ticket-conversation").value = String(conversationId);
    $("ticket-link").textContent = `This case will be linked to conversation ${conversationId}.`;
  }

  async function load() {
    if (conversationId === null) return;
    const stored = sessionStorage.getItem(escalationKey(conversationId));
    if (stored) {
      try {
        prefill(JSON.parse(stored));
        return;
      } catch (_) { /* fall back to the server */ }
    }
    try {
      prefill(await call("GET", `/conversations/${conversationId}`));
    } catch (err) {
      notice($("ticket-error"), errorText(err), "error");
    }
  }

  $("ticket-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("ticket-submit").disabled = true;
    const body = {
      subject: $("ticket-subject").value.trim(),
      description: $("ticket-description").value,
      priority: $("ticket-priority").value,
    };
    if (conversationId !== null) body.conversation_id = conversationId;
    try {
      const created = await call("POST", "/cases", body);
      if (conversationId !== null) sessionStorage.removeItem(escalationKey(conversationId));
      window.location.assign(`/support/cases#case-${created.case_id}`);
    } catch (err) {
      notice($("ticket-error"), errorText(err), "error");
      $("ticket-submit").disabled = false;
    }
  });

  load();
})();
