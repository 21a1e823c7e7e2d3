// Shared helpers of Lumen's pages: calling supportai, building DOM safely, and one place
// that turns supportai's typed reasons into polite sentences. (The chat itself, with its
// stream parsing, is supportai's <supportai-chat> widget.)
"use strict";

const Lumen = (() => {
  const api = document.body.dataset.api;

  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      const detail = body && typeof body.detail === "string" ? body.detail : `HTTP ${status}`;
      super(detail);
      this.status = status;
      this.body = body || {};
      this.reason = (body && body.reason) || "http_" + status;
      this.retryAfter = body && body.retry_after_s != null ? body.retry_after_s : Number(retryAfter) || null;
    }
  }

  // One request to supportai, same origin, session cookie attached by the browser.
  // Returns parsed JSON, or the Response itself for streams; throws ApiError otherwise.
  async function call(method, path, body, { stream = false } = {}) {
    const headers = { Accept: stream ? "text/event-stream" : "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(api + path, init);
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      throw new ApiError(401, { reason: "unauthenticated", detail: "Please sign in again." });
    }
    if (!response.ok) {
      let data = null;
      try { data = await response.json(); } catch (_) { /* not JSON */ }
      throw new ApiError(response.status, data, response.headers.get("Retry-After"));
    }
    if (stream) return response;
    return response.json();
  }

  // Build an element without innerHTML: text is always text.
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Answers quote help-center Markdown: show **bold** and `code` as such, everything
  // else as text (line breaks kept by CSS). Built from DOM nodes, never innerHTML.
  function rich(node, text) {
    const parts = [];
    const pattern = /\*\*(.+?)\*\*|`([^`\n]+)`/g;
    let position = 0;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > position) parts.push(text.slice(position, match.index));
      parts.push(match[1] !== undefined ? el("strong", {}, match[1]) : el("code", {}, match[2]));
      position = pattern.lastIndex;
    }
    if (position < text.length) parts.push(text.slice(position));
    node.replaceChildren(...parts);
  }

  function seconds(n) {
    if (!n) return "a moment";
    if (n < 90) return `${n} second${n === 1 ? "" : "s"}`;
    return `${Math.ceil(n / 60)} minutes`;
  }

  // supportai's typed reasons (docs/errors.md) in words a customer understands.
  function politeReason(reason, retryAfter, detail) {
    switch (reason) {
      case "intent_refused":
        return "I can't help with that. I'm here for questions about Lumen: your workspace, billing, members, integrations. You can also talk to a human.";
      case "output_blocked":
        return "I stopped that answer because it might have shared something it should not. Please rephrase, or talk to a human.";
      case "rate_limited":
        return `You're asking faster than I can answer. Please try again in ${seconds(retryAfter)}.`;
      case "cost_cap_exceeded":
        return `You've used today's assistant allowance. It renews in ${seconds(retryAfter)}; our support team can help meanwhile.`;
      case "conversation_escalated":
        return "This conversation was handed to our support team, so the assistant no longer replies here. Start a new conversation to ask something else.";
      case "disclosure_required":
        return "Please read and accept the note about the AI assistant first.";
      case "master_flag_off":
        return "The assistant is switched off right now. You can still contact our support team.";
      case "vendor_outage":
      case "quota_store_unavailable":
      case "runtime_not_wired":
        return "The assistant is unavailable right now. Please try again in a moment, or talk to a human.";
      case "tool_failed":
        return "I couldn't look that up just now. Please try again, or talk to a human.";
      case "validation_error":
        return "That message could not be sent: " + (typeof detail === "string" ? detail : "please check what you typed.");
      case "not_found":
        return "That conversation no longer exists.";
      case "case_closed":
        return "This case is closed. Open a new case if you still need help.";
      default:
        return typeof detail === "string" && detail ? detail : "Something went wrong. Please try again.";
    }
  }

  function errorText(err) {
    if (err instanceof ApiError) return politeReason(err.reason, err.retryAfter, err.body.detail);
    return "We could not reach Lumen. Check your connection and try again.";
  }

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function show(node, visible = true) { node.hidden = !visible; }

  function notice(node, text, kind = "info") {
    node.textContent = text;
    node.className = "notice " + kind;
    node.hidden = !text;
  }

  // Lists reload on every filter change and after every action; when two loads overlap,
  // only the newest may draw, or a slow old response would overwrite a newer one.
  function latestOnly() {
    let current = 0;
    return {
      start() { current += 1; return current; },
      isCurrent(ticket) { return ticket === current; },
    };
  }

  const escalationKey = (conversationId) => `lumen.escalation.${conversationId}`;

  return { api, ApiError, call, el, rich, politeReason, errorText, when, show, notice, escalationKey, latestOnly };
})();
