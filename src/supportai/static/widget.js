// supportai chat widget: <script src="/api/support/ai/widget.js" defer></script>
// then <supportai-chat></supportai-chat>. Plain JavaScript, no build step, no
// dependency, nothing fetched from anywhere but the supportai API it is served by.
//
// Safety rule of this file: text from the model, from help articles and from the
// user is only ever put in the page as text nodes or checked href attributes. There
// is no innerHTML, insertAdjacentHTML, document.write or eval anywhere below.
"use strict";

(() => {
  if (window.customElements.get("supportai-chat")) return;  // loaded twice: keep the first

  const script = document.currentScript;
  const scriptUrl = script && script.src ? new URL(script.src, location.href) : null;
  // The API lives where this file is served from (…/api/support/ai/widget.js).
  const DEFAULT_API = scriptUrl ? scriptUrl.pathname.replace(/\/[^/]*$/, "") : "/api/support/ai";
  const CSS_URL = scriptUrl ? new URL("widget.css", scriptUrl).href : DEFAULT_API + "/widget.css";

  /** How often a dropped stream is retried (same idempotency key), and the waits between. */
  const RETRY_DELAYS_MS = [300, 1000, 2500, 5000];

  // -- DOM helpers ---------------------------------------------------------------------

  /** Build an element; strings become text nodes, never markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /**
   * An href we are willing to render: http(s) URLs and relative ones only. The URL is
   * resolved the way the browser would (which also strips the tabs and newlines that
   * hide a "java\tscript:" scheme); anything else (javascript:, data:, vbscript:...) is
   * refused and the caller shows the text instead.
   */
  function safeHref(raw) {
    if (typeof raw !== "string" || !raw.trim()) return null;
    let resolved;
    try {
      resolved = new URL(raw.trim(), location.href);
    } catch (_) {
      return null;
    }
    if (resolved.protocol !== "http:" && resolved.protocol !== "https:") return null;
    return resolved.href;
  }

  // -- Markdown subset -----------------------------------------------------------------
  // Paragraphs, headings, lists, block quotes, fenced code; inline code, bold, italic,
  // links and bare http(s) URLs. Everything else stays literal text.

  const INLINE = new RegExp([
    "(`+)([^`]|[^`][\\s\\S]*?[^`])\\1(?!`)",                 // 1,2: code span
    "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*",                     // 3: bold **
    "__(?=\\S)([\\s\\S]*?\\S)__(?![A-Za-z0-9_])",            // 4: bold __
    "\\*(?=[^\\s*])([\\s\\S]*?[^\\s*])\\*",                  // 5: italic *
    "_(?=[^\\s_])([\\s\\S]*?[^\\s_])_(?![A-Za-z0-9_])",      // 6: italic _
    "\\[([^\\]\\n]+)\\]\\(\\s*<?([^()\\s<>]+)>?(?:\\s+\"[^\"]*\")?\\s*\\)",  // 7,8: link
    "(https?:\\/\\/[^\\s<>()\"']*[^\\s<>()\"'.,;:!?])",      // 9: bare URL
  ].join("|"));

  /** Inline Markdown as nodes appended to ``parent``. */
  function inline(parent, text) {
    let rest = text;
    while (rest) {
      const match = INLINE.exec(rest);
      if (!match) break;
      const before = rest.slice(0, match.index);
      // "_" emphasis only at a word start: snake_case_names and __dunders__ stay literal.
      if ((match[4] !== undefined || match[6] !== undefined) && /[A-Za-z0-9_]$/.test(before)) {
        parent.append(before + "_");
        rest = rest.slice(match.index + 1);
        continue;
      }
      if (before) parent.append(before);
      if (match[2] !== undefined) parent.append(el("code", {}, match[2]));
      else if (match[3] !== undefined || match[4] !== undefined) {
        const strong = el("strong");
        inline(strong, match[3] !== undefined ? match[3] : match[4]);
        parent.append(strong);
      } else if (match[5] !== undefined || match[6] !== undefined) {
        const em = el("em");
        inline(em, match[5] !== undefined ? match[5] : match[6]);
        parent.append(em);
      } else if (match[7] !== undefined) {
        const href = safeHref(match[8]);
        if (href) {
          const link = linkTo(href);
          inline(link, match[7]);
          parent.append(link);
        } else {
          parent.append(match[0]);  // an unsafe link is shown as what it is: text
        }
      } else if (match[9] !== undefined) {
        const href = safeHref(match[9]);
        parent.append(href ? linkTo(href, match[9]) : match[9]);
      }
      rest = rest.slice(match.index + match[0].length);
    }
    if (rest) parent.append(rest);
  }

  function linkTo(href, text) {
    const external = new URL(href).origin !== location.origin;
    return el("a", { href, target: external ? "_blank" : null, rel: external ? "noopener noreferrer" : null }, text);
  }

  const BLOCK_START = /^(#{1,6}\s|```|>\s?|\s*(?:[-*+]|\d{1,9}[.)])\s)/;

  /** Render Markdown ``text`` into a fragment of safe nodes. */
  function markdown(text) {
    const root = document.createDocumentFragment();
    const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (!line.trim()) { i += 1; continue; }
      const fence = /^```/.exec(line);
      if (fence) {
        const body = [];
        i += 1;
        while (i < lines.length && !/^```/.test(lines[i])) body.push(lines[i++]);
        i += 1;  // the closing fence (or the end: a fence still streaming in)
        root.append(el("pre", {}, el("code", {}, body.join("\n"))));
        continue;
      }
      const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
      if (heading) {
        // Headings sit under the widget's own title (h2): # becomes h3, ## h4, deeper h5.
        const node = el("h" + Math.min(heading[1].length + 2, 5), { class: "md-heading" });
        inline(node, heading[2]);
        root.append(node);
        i += 1;
        continue;
      }
      if (/^>\s?/.test(line)) {
        const body = [];
        while (i < lines.length && /^>\s?/.test(lines[i])) body.push(lines[i++].replace(/^>\s?/, ""));
        root.append(el("blockquote", {}, markdown(body.join("\n"))));
        continue;
      }
      const item = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line);
      if (item) {
        const ordered = /\d/.test(item[1]);
        const list = el(ordered ? "ol" : "ul");
        if (ordered && parseInt(item[1], 10) !== 1) list.setAttribute("start", String(parseInt(item[1], 10)));
        while (i < lines.length) {
          const next = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(lines[i]);
          if (next && /\d/.test(next[1]) === ordered) {
            const li = el("li");
            inline(li, next[2]);
            list.append(li);
            i += 1;
          } else if (lines[i].trim() && /^\s{2,}\S/.test(lines[i]) && list.lastChild) {
            list.lastChild.append(" ");  // a continuation line of the last item
            inline(list.lastChild, lines[i].trim());
            i += 1;
          } else {
            break;
          }
        }
        root.append(list);
        continue;
      }
      const body = [];
      while (i < lines.length && lines[i].trim() && !(body.length && BLOCK_START.test(lines[i]))) {
        body.push(lines[i++]);
      }
      const paragraph = el("p");
      body.forEach((part, index) => {
        if (index) paragraph.append(el("br"));
        inline(paragraph, part);
      });
      root.append(paragraph);
    }
    return root;
  }

  // -- HTTP and SSE ----------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      super(body && typeof body.detail === "string" ? body.detail : "HTTP " + status);
      this.status = status;
      this.reason = (body && body.reason) || "http_" + status;
      this.detail = body && body.detail;
      this.retryAfter = body && body.retry_after_s != null ? body.retry_after_s : Number(retryAfter) || null;
    }
  }

  /** Parse a text/event-stream body as it arrives: yields {event, id, data}. */
  async function* events(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      buffer = buffer.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const parsed = parseBlock(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (parsed) yield parsed;
      }
      if (done) return;  // a partial last block is an unfinished event: dropped
    }
  }

  function parseBlock(block) {
    let event = "message";
    let id = null;
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;  // ": ping" heartbeats
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "id") id = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return null;
    try {
      return { event, id, data: JSON.parse(data.join("\n")) };
    } catch (_) {
      return null;
    }
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function waitText(seconds) {
    if (!seconds) return "a moment";
    if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
    if (seconds < 5400) return `${Math.ceil(seconds / 60)} minutes`;
    return `${Math.ceil(seconds / 3600)} hours`;
  }

  /** The rate window in words: "this minute", "in the next 5 minutes", "in the next hour". */
  function windowText(seconds) {
    const plural = (n, unit) => (n === 1 ? `the next ${unit}` : `the next ${n} ${unit}s`);
    if (seconds === 60) return "this minute";
    if (seconds % 3600 === 0) return "in " + plural(seconds / 3600, "hour");
    if (seconds % 60 === 0) return "in " + plural(seconds / 60, "minute");
    return "in " + plural(seconds, "second");
  }

  /** supportai's typed reasons (docs/errors.md) in words a customer understands. */
  function politeReason(reason, retryAfter, detail) {
    switch (reason) {
      case "intent_refused":
        return "I can't help with that. You can rephrase your question or talk to a human.";
      case "output_blocked":
        return "I stopped that answer because it might have shared something it should not. Please rephrase, or talk to a human.";
      case "rate_limited":
        return `You're asking faster than I can answer. Please try again in ${waitText(retryAfter)}.`;
      case "cost_cap_exceeded":
        return `You've used the assistant's allowance for now. It renews in ${waitText(retryAfter)}; a human can help meanwhile.`;
      case "conversation_escalated":
        return "This conversation was handed to the support team, so the assistant no longer replies here. Start a new conversation to ask something else.";
      case "disclosure_required":
        return "Please read and accept the note about the AI assistant first.";
      case "master_flag_off":
        return "The assistant is switched off right now. You can still contact the support team.";
      case "vendor_outage":
      case "quota_store_unavailable":
      case "runtime_not_wired":
        return "The assistant is unavailable right now. Please try again in a moment, or talk to a human.";
      case "unauthenticated":
        return "Please sign in again to use the assistant.";
      case "not_found":
        return "That conversation no longer exists.";
      case "validation_error":
        return "That message could not be sent: " + (typeof detail === "string" ? detail : "please check what you typed.");
      default:
        return typeof detail === "string" && detail ? detail : "Something went wrong. Please try again.";
    }
  }

  // -- the element ---------------------------------------------------------------------

  class SupportAIChat extends HTMLElement {
    static get observedAttributes() { return ["conversation-id", "heading", "placeholder"]; }

    constructor() {
      super();
      this.state = { conversationId: null, status: null, busy: false, disclosureVersion: null, ready: false };
      // Paging back through a conversation: the cursor of the next older page (null when
      // the first message is shown) and a counter that marks every switch of conversation,
      // so a response that arrives after the user moved on is dropped, never mixed in.
      this.history = { cursor: null, generation: 0 };
      this.readyAt = null;  // performance.now() when the widget became usable
      this.root = this.attachShadow({ mode: "open" });
      this.build();
    }

    get api() { return (this.getAttribute("api") || DEFAULT_API).replace(/\/$/, ""); }

    /** The open conversation's id, or null before the first question. */
    get conversationId() { return this.state.conversationId; }

    connectedCallback() {
      if (!this.started) {
        this.started = true;
        this.start();
      }
    }

    attributeChangedCallback(name, _old, value) {
      if (name === "heading") this.parts.heading.textContent = value || "Support assistant";
      if (name === "placeholder") this.parts.question.placeholder = value || "Ask a question…";
      if (name === "conversation-id" && this.state.ready && value && Number(value) !== this.state.conversationId) {
        this.openConversation(Number(value));
      }
    }

    build() {
      const id = (suffix) => `supportai-${suffix}`;
      const p = (this.parts = {});
      p.heading = el("h2", { id: id("heading"), part: "heading" }, this.getAttribute("heading") || "Support assistant");
      p.newButton = el("button", { type: "button", class: "secondary", part: "button", onclick: () => this.newConversation(true) }, "New conversation");
      p.human = el("button", { type: "button", class: "secondary human", part: "button", disabled: true, onclick: () => this.escalate() }, "Talk to a human");
      p.accept = el("button", { type: "button", class: "primary accept", part: "button primary", onclick: () => this.acceptDisclosure() }, "I understand, start chatting");
      p.disclosureVersion = el("span", { class: "version" });
      // The server's disclosure text (SUPPORTAI_DISCLOSURE_TEXT) unless the host slots its own.
      p.disclosureText = el("div", { class: "disclosure-text" });
      p.disclosureLink = el("p", { class: "disclosure-link", hidden: true });
      p.disclosure = el("div", { class: "disclosure", role: "region", "aria-labelledby": id("disclosure-title"), hidden: true, part: "disclosure" },
        el("h3", { id: id("disclosure-title") }, "Before you chat with the assistant"),
        el("slot", { name: "disclosure" }, p.disclosureText),
        p.disclosureLink,
        el("p", { class: "muted small" }, "Disclosure version ", p.disclosureVersion),
        p.accept);
      p.log = el("ol", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Conversation", tabindex: "0", part: "log" });
      p.notice = el("p", { class: "notice", role: "status", hidden: true, part: "notice" });
      p.allowance = el("p", { class: "allowance", "aria-live": "polite", part: "allowance" });
      p.question = el("textarea", { id: id("question"), name: "question", rows: 2, maxlength: 4000, required: true, placeholder: this.getAttribute("placeholder") || "Ask a question…", part: "input" });
      p.send = el("button", { type: "submit", class: "primary send", part: "button primary" }, "Send");
      p.composer = el("form", { class: "composer", part: "composer" },
        el("label", { class: "visually-hidden", for: id("question") }, "Your question"), p.question, p.send);
      p.chat = el("div", { class: "chat", hidden: true }, p.log, p.notice, p.composer, p.allowance);
      p.panel = el("section", { class: "panel", "aria-labelledby": id("heading"), part: "panel" },
        el("header", { class: "head" }, p.heading, el("div", { class: "actions" }, p.newButton, p.human)),
        p.disclosure, p.chat);
      // A stylesheet from the same origin as this script: hosts with a strict CSP
      // (style-src 'self', no 'unsafe-inline') need nothing extra.
      this.root.append(el("link", { rel: "stylesheet", href: CSS_URL }), p.panel);

      p.composer.addEventListener("submit", (event) => {
        event.preventDefault();
        this.send();
      });
      p.question.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          p.composer.requestSubmit();
        }
      });
    }

    // -- talking to the API -------------------------------------------------------------

    async call(method, path, body, { stream = false, headers = {} } = {}) {
      const init = { method, credentials: "same-origin", headers: { Accept: stream ? "text/event-stream" : "application/json", ...headers } };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const response = await fetch(this.api + path, init);
      if (!response.ok) {
        let data = null;
        try { data = await response.json(); } catch (_) { /* not JSON */ }
        const error = new ApiError(response.status, data, response.headers.get("Retry-After"));
        if (response.status === 401) this.emit("supportai-unauthenticated", { reason: error.reason });
        throw error;
      }
      return stream ? response : response.json();
    }

    emit(name, detail, cancelable = false) {
      return this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true, cancelable }));
    }

    say(text, kind = "info") {
      const notice = this.parts.notice;
      notice.textContent = text || "";
      notice.className = "notice " + kind;
      notice.hidden = !text;
    }

    errorText(err) {
      if (err instanceof ApiError) return politeReason(err.reason, err.retryAfter, err.detail);
      return "The assistant could not be reached. Check your connection and try again.";
    }

    // -- start and disclosure -----------------------------------------------------------

    async start() {
      let status;
      try {
        status = await this.call("GET", "/disclosure/status");
      } catch (err) {
        this.parts.chat.hidden = false;
        this.setReadOnly(true);
        this.say(this.errorText(err), "error");
        return;
      }
      this.state.disclosureVersion = status.current_version;
      this.setDisclosure(status.text, status.url);
      if (status.required && !status.accepted) this.showDisclosure();
      else await this.openChat();
    }

    markReady() {
      if (this.state.ready) return;
      this.state.ready = true;
      this.readyAt = performance.now();
      this.setAttribute("data-ready", "");
      this.emit("supportai-ready", { at: this.readyAt });
    }

    /** The server's plain-text disclosure, one paragraph per blank-line-separated block. */
    setDisclosure(text, url) {
      const blocks = typeof text === "string" ? text.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean) : [];
      this.parts.disclosureText.replaceChildren(...blocks.map((block) => el("p", { class: "pre-line" }, block)));
      const href = safeHref(url);
      this.parts.disclosureLink.replaceChildren(href ? linkTo(href, "Read the full disclosure") : "");
      this.parts.disclosureLink.hidden = !href;
    }

    showDisclosure() {
      this.parts.disclosureVersion.textContent = this.state.disclosureVersion || "";
      this.parts.chat.hidden = true;
      this.parts.disclosure.hidden = false;
      this.parts.newButton.hidden = true;
      this.parts.human.hidden = true;
      this.markReady();
      this.parts.accept.focus({ preventScroll: true });
    }

    async acceptDisclosure() {
      const accept = this.parts.accept;
      accept.disabled = true;
      try {
        await this.call("POST", "/disclosure/accept", { version: this.state.disclosureVersion });
        this.parts.disclosure.hidden = true;
        await this.openChat();
        this.parts.question.focus();
      } catch (err) {
        // A 422: the disclosure version changed while the page was open; ask again.
        if (err.reason === "validation_error") await this.start();
        else this.say(this.errorText(err), "error");
      } finally {
        accept.disabled = false;
      }
    }

    async openChat() {
      const p = this.parts;
      p.chat.hidden = false;
      p.newButton.hidden = false;
      p.human.hidden = false;
      this.refreshAllowance();
      const wanted = Number(this.getAttribute("conversation-id"));
      if (wanted > 0) await this.openConversation(wanted);
      else this.newConversation(false);
      this.markReady();
    }

    // -- conversations --------------------------------------------------------------------

    /** Start afresh: the next question creates a conversation. */
    newConversation(focus) {
      this.resetHistory(null);
      this.state.conversationId = null;
      this.state.status = null;
      this.removeAttribute("conversation-id");
      this.parts.log.replaceChildren(el("li", { class: "hint muted" }, this.getAttribute("greeting") ||
        "Ask a question. Answers come from the help center, with links to the articles."));
      this.say("");
      this.setReadOnly(false);
      this.parts.human.disabled = true;
      this.emit("supportai-conversation", { conversation_id: null, title: null, status: null });
      if (focus) this.parts.question.focus();
    }

    /** Show a stored conversation (the user's own; anything else is a 404). */
    async openConversation(id) {
      const generation = this.resetHistory(null);
      let conversation;
      try {
        conversation = await this.call("GET", `/conversations/${encodeURIComponent(id)}`);
      } catch (err) {
        if (generation !== this.history.generation) return;  // the user moved on meanwhile
        this.newConversation(false);
        this.say(this.errorText(err), "error");
        return;
      }
      if (generation !== this.history.generation) return;
      this.state.conversationId = conversation.conversation_id;
      this.state.status = conversation.status;
      this.setAttribute("conversation-id", String(conversation.conversation_id));
      // The server sends the newest page (oldest first within it) and a cursor to older ones.
      this.history.cursor = conversation.next_cursor == null ? null : conversation.next_cursor;
      this.parts.log.replaceChildren(...conversation.messages.map((m) => this.renderStored(m)));
      if (this.history.cursor !== null) this.parts.log.prepend(this.earlierControl());
      const escalated = conversation.status === "escalated";
      this.setReadOnly(escalated);
      // Still enabled when escalated: asking again is idempotent and brings the ticket link back.
      this.parts.human.disabled = false;
      this.say(escalated ? politeReason("conversation_escalated") : "", "info");
      this.emit("supportai-conversation", { conversation_id: conversation.conversation_id, title: conversation.title, status: conversation.status });
      this.scrollDown();
    }

    setReadOnly(readOnly) {
      this.parts.question.disabled = readOnly;
      this.parts.send.disabled = readOnly;
    }

    scrollDown() {
      const log = this.parts.log;
      log.scrollTop = log.scrollHeight;
    }

    // -- earlier messages -------------------------------------------------------------------

    /** Forget the paging state of the conversation shown; returns the new generation. */
    resetHistory(cursor) {
      this.history.cursor = cursor;
      this.history.generation += 1;
      return this.history.generation;
    }

    /** The "Show earlier messages" row at the top of the log (a real button, and a status line). */
    earlierControl() {
      const status = el("span", { class: "muted earlier-status", role: "status" });
      const button = el("button", { type: "button", class: "link earlier-button", part: "button", onclick: () => this.loadEarlier(button, status) }, "Show earlier messages");
      return el("li", { class: "earlier" }, button, status);
    }

    /**
     * Fetch the page before the oldest message shown and put it above, keeping what the
     * reader was looking at where it was (the log scrolls by what was inserted above it). A response for a conversation the user has left is dropped; a failure is
     * said next to the button, which stays for a retry.
     */
    async loadEarlier(button, status) {
      const { cursor, generation } = this.history;
      const id = this.state.conversationId;
      if (cursor === null || id === null || button.getAttribute("aria-disabled") === "true") return;
      // aria-disabled, not disabled: a disabled button drops the keyboard focus. The
      // progress is said on the button itself: a status line appearing above the
      // messages would push them down while the page is on its way.
      button.setAttribute("aria-disabled", "true");
      button.setAttribute("aria-busy", "true");
      button.textContent = "Loading earlier messages…";
      status.textContent = "";
      let page;
      try {
        page = await this.call("GET", `/conversations/${encodeURIComponent(id)}?before=${encodeURIComponent(cursor)}`);
      } catch (err) {
        if (generation !== this.history.generation) return;
        status.textContent = "Earlier messages could not be loaded. " + this.errorText(err);
        return;
      } finally {
        button.removeAttribute("aria-disabled");
        button.removeAttribute("aria-busy");
        button.textContent = "Show earlier messages";
      }
      if (generation !== this.history.generation || page.conversation_id !== id) return;
      const log = this.parts.log;
      const row = button.closest("li.earlier");
      // The first message shown is the anchor: it stays where the reader sees it.
      const anchor = row.nextElementSibling;
      const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
      const older = page.messages.map((m) => this.renderStored(m));
      row.after(...older);
      this.history.cursor = page.next_cursor == null ? null : page.next_cursor;
      const count = older.length;
      status.textContent = `${count} earlier message${count === 1 ? "" : "s"} shown.`;
      if (this.history.cursor === null) {
        const focused = this.root.activeElement === button;
        row.remove();
        // The button is gone: keep keyboard users in the history rather than on <body>.
        if (focused) log.focus({ preventScroll: true });
      }
      if (anchor) log.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    }

    // -- messages -------------------------------------------------------------------------

    bubble(role) {
      const text = el("div", { class: "text" });
      const sources = el("ul", { class: "citations", "aria-label": "Sources" });
      const citations = el("div", { class: "sources", hidden: true }, el("span", { class: "label" }, "Sources:"), sources);
      const extra = el("div", { class: "extra" });
      const item = el("li", { class: `message ${role}`, part: `message ${role}` },
        el("div", { class: "who" }, role === "user" ? "You" : "Assistant"), text, citations, extra);
      return { item, text, citations, sources, extra, seen: new Set() };
    }

    addCitation(view, citation) {
      const key = citation.source_id + "\u0000" + (citation.url || "");
      if (view.seen.has(key)) return;
      view.seen.add(key);
      view.citations.hidden = false;
      const label = citation.title || citation.source_id;
      const href = safeHref(citation.url);
      view.sources.append(el("li", { class: "citation" }, href ? linkTo(href, label) : label));
    }

    renderStored(message) {
      const view = this.bubble(message.role);
      if (message.role === "user") view.text.textContent = message.content;
      else view.text.append(markdown(message.content));
      for (const citation of message.citations || []) this.addCitation(view, citation);
      if (message.role === "user" && message.status === "refused") view.item.classList.add("refused-question");
      if (message.role === "user") view.item.dataset.messageId = message.message_id;
      if (message.role === "assistant") {
        view.item.dataset.status = message.status;
        view.item.dataset.messageId = message.message_id;
        if (message.status === "blocked") view.item.classList.add("refusal");
        if (message.status === "interrupted") view.extra.append(el("p", { class: "muted" }, "(answer interrupted)"));
        if (message.status !== "error") view.extra.append(this.feedbackControls(message.message_id));
      }
      return view.item;
    }

    // -- the turn -------------------------------------------------------------------------

    async send() {
      const content = this.parts.question.value.trim();
      if (!content || this.state.busy) return;
      this.state.busy = true;
      this.setReadOnly(true);
      this.say("");
      try {
        await this.ask(content);
      } finally {
        this.state.busy = false;
        if (this.state.status !== "escalated") this.setReadOnly(false);
        this.parts.question.focus();
      }
    }

    async ask(content) {
      if (this.state.conversationId === null) {
        try {
          const created = await this.call("POST", "/conversations", { title: content.slice(0, 80) });
          this.state.conversationId = created.conversation_id;
          this.state.status = created.status;
          this.setAttribute("conversation-id", String(created.conversation_id));
          this.resetHistory(null);
          this.parts.log.replaceChildren();
          this.emit("supportai-conversation", { conversation_id: created.conversation_id, title: created.title, status: created.status });
        } catch (err) {
          this.say(this.errorText(err), "error");
          return;
        }
      }
      const question = this.bubble("user");
      question.text.textContent = content;
      const answer = this.bubble("assistant");
      answer.item.classList.add("streaming");
      answer.item.setAttribute("aria-busy", "true");
      this.parts.log.append(question.item, answer.item);
      this.parts.question.value = "";
      this.scrollDown();

      const turn = new Turn(this, answer, question, content);
      let completed = null;
      try {
        completed = await turn.run();
      } catch (err) {
        answer.item.remove();
        question.item.classList.add("failed");
        this.parts.question.value = content;  // nothing was lost: the text is back in the box
        if (err.reason === "disclosure_required") this.showDisclosure();
        else {
          if (err.reason === "conversation_escalated") this.setEscalated();
          this.say(this.errorText(err), err.reason === "rate_limited" || err.reason === "cost_cap_exceeded" ? "warning" : "error");
        }
      }
      answer.item.classList.remove("streaming");
      answer.item.removeAttribute("aria-busy");
      if (completed) {
        answer.item.dataset.status = completed.status;
        if (completed.status === "interrupted") answer.extra.append(el("p", { class: "muted" }, "(answer interrupted)"));
        if (completed.message_id) {
          answer.item.dataset.messageId = completed.message_id;
          answer.extra.append(this.feedbackControls(completed.message_id));
        }
        this.emit("supportai-turn", { conversation_id: this.state.conversationId, ...completed });
      }
      if (this.state.status !== "escalated") this.parts.human.disabled = false;
      this.scrollDown();
      this.refreshAllowance();
    }

    humanButton() {
      return el("button", { type: "button", class: "link human-inline", onclick: () => this.escalate() }, "Talk to a human");
    }

    setEscalated() {
      this.state.status = "escalated";
      this.setReadOnly(true);
    }

    // -- feedback -------------------------------------------------------------------------

    feedbackControls(messageId) {
      const conversationId = this.state.conversationId;
      const box = el("div", { class: "feedback", role: "group", "aria-label": "Feedback on this answer" });
      const form = el("form", { class: "feedback-form", hidden: true });
      const status = el("span", { class: "muted feedback-status", role: "status" });
      let helpful = null;
      const choose = (value) => {
        helpful = value;
        up.setAttribute("aria-pressed", String(value === true));
        down.setAttribute("aria-pressed", String(value === false));
        form.hidden = false;
        comment.placeholder = value ? "What was good? (optional)" : "What was wrong or missing? (optional)";
        comment.focus();
      };
      const up = el("button", { type: "button", class: "thumb up", "aria-pressed": "false", "aria-label": "Helpful", onclick: () => choose(true) }, "Yes");
      const down = el("button", { type: "button", class: "thumb down", "aria-pressed": "false", "aria-label": "Not helpful", onclick: () => choose(false) }, "No");
      const rating = el("select", { name: "rating", "aria-label": "Rating" },
        el("option", { value: "" }, "Rate (optional)"),
        [5, 4, 3, 2, 1].map((n) => el("option", { value: n }, `${n} – ${["", "poor", "weak", "okay", "good", "great"][n]}`)));
      const comment = el("textarea", { name: "comment", rows: 2, maxlength: 4000, "aria-label": "Comment" });
      const submit = el("button", { type: "submit", class: "secondary" }, "Send feedback");
      form.append(rating, comment, submit);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = { message_id: messageId };
        if (helpful !== null) body.helpful = helpful;
        if (rating.value) body.rating = Number(rating.value);
        if (comment.value.trim()) body.comment = comment.value.trim();
        if (body.helpful === undefined && body.rating === undefined) {
          status.textContent = "Choose Yes, No or a rating first.";
          return;
        }
        submit.disabled = true;
        try {
          const result = await this.call("POST", `/conversations/${conversationId}/feedback`, body);
          form.hidden = true;
          status.textContent = result.training_candidate_id ? "Thanks. Our team will review this answer." : "Thanks for the feedback.";
          box.dataset.sent = "true";
          status.setAttribute("tabindex", "-1");
          status.focus();
        } catch (err) {
          status.textContent = this.errorText(err);
        } finally {
          submit.disabled = false;
        }
      });
      // Enter submits the comment too, as in the composer.
      comment.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          form.requestSubmit();
        }
      });
      box.append(el("span", { class: "muted" }, "Was this helpful?"), up, down, status, form);
      return box;
    }

    // -- escalation -----------------------------------------------------------------------

    /**
     * Hand the conversation to a human. supportai marks it escalated and answers the
     * host's ticket URL; the widget shows it as a link (and the host may listen to
     * ``supportai-escalated`` to keep the snapshot, or cancel it to navigate itself).
     */
    async escalate() {
      const id = this.state.conversationId;
      if (id === null) return;
      const shown = this.parts.log.querySelector("li.escalated");
      if (shown) {
        (shown.querySelector("a") || this.parts.human).focus();
        return;
      }
      this.parts.human.disabled = true;
      let result;
      try {
        result = await this.call("POST", `/conversations/${id}/escalate`, { reason: "customer_request" });
      } catch (err) {
        this.parts.human.disabled = false;
        this.say(this.errorText(err), "error");
        return;
      }
      this.setEscalated();
      this.parts.human.disabled = false;
      if (!this.emit("supportai-escalated", result, true)) return;  // the host took over
      const href = safeHref(result.ticket_url);
      const link = href ? el("a", { href, class: "ticket-link" }, "Continue to your support ticket") : null;
      const item = el("li", { class: "message system escalated" },
        el("p", {}, result.already_escalated
          ? "This conversation is with our support team."
          : "This conversation is now with our support team. The assistant won't reply here any more."),
        link ? el("p", {}, link) : null);
      this.parts.log.append(item);
      this.say("");
      this.scrollDown();
      (link || this.parts.newButton).focus();
    }

    // -- allowance --------------------------------------------------------------------------

    /**
     * The remaining allowance in questions. The turn bucket is already in turns (per rate
     * window); the cost caps are money, so they are divided by the most one turn can
     * reserve (``turn_reservation_micros``): a lower bound on the questions still allowed.
     */
    async refreshAllowance() {
      const box = this.parts.allowance;
      let quota;
      try {
        quota = await this.call("GET", "/quota");
      } catch (err) {
        box.textContent = "";
        return;
      }
      const rate = quota.user_turns;
      const parts = [`${rate.remaining} of ${rate.limit} questions left ${windowText(quota.window_s)}`];
      const perTurn = quota.turn_reservation_micros;
      let today = null;
      if (typeof perTurn === "number" && perTurn > 0) {
        const money = Math.min(quota.user_cost_micros.remaining, quota.tenant_cost_micros.remaining);
        today = Math.floor(Math.max(money, 0) / perTurn);
        parts.push(`at least ${today} today`);
      } else if (typeof perTurn !== "number") {
        parts.push("(this server does not say how many questions its daily allowance covers)");
      }
      box.dataset.windowLeft = String(rate.remaining);
      if (today !== null) box.dataset.todayLeft = String(today);
      else delete box.dataset.todayLeft;
      box.textContent = parts.join("; ") + ".";
    }
  }

  /**
   * One question's answer stream, with reconnects. Once ``turn.started`` named the turn,
   * a stream that fails or ends before ``turn.completed`` resumes on
   * ``GET …/messages/{turn}/events`` with ``Last-Event-ID``: the server sends exactly the
   * events after it, so the answer continues with no gap and no repeat (docs/sse.md).
   * Before that (or against a server that cannot resume) the question is sent again with
   * the same idempotency key: the server never answers (or charges) twice; it replays
   * the stored turn (``replayed: true``), which replaces what was shown, or answers 409
   * ``duplicate_request`` while the first try is still running, which is waited out.
   */
  class Turn {
    constructor(widget, answer, question, content) {
      this.widget = widget;
      this.answer = answer;
      this.question = question;
      this.content = content;
      this.key = newKey();
      this.lastEventId = null;
      this.turnId = null;
      this.text = "";
      this.completed = null;
    }

    request() {
      const widget = this.widget;
      const path = `/conversations/${widget.state.conversationId}/messages`;
      if (this.turnId && this.lastEventId) {
        const headers = { "Last-Event-ID": this.lastEventId };
        return widget.call("GET", `${path}/${this.turnId}/events`, undefined, { stream: true, headers });
      }
      return widget.call("POST", path, { content: this.content, idempotency_key: this.key }, { stream: true });
    }

    async run() {
      const widget = this.widget;
      for (let attempt = 0; ; attempt += 1) {
        try {
          const response = await this.request();
          for await (const event of events(response)) {
            if (event.id !== null) this.lastEventId = event.id;
            this.onEvent(event.event, event.data);
          }
          if (this.completed) return this.completed;
          throw new Error("the stream ended before turn.completed");
        } catch (err) {
          if (err instanceof ApiError && err.status === 404 && this.turnId) {
            this.turnId = null;  // no resume here: ask again with the same key
          } else if (err instanceof ApiError && err.reason !== "duplicate_request") {
            throw err;
          }
          if (attempt >= RETRY_DELAYS_MS.length) {
            widget.say("The connection dropped before the answer finished. What arrived is kept; ask again to continue.", "warning");
            return null;
          }
          widget.say("Connection lost; reconnecting…", "info");
          await sleep(RETRY_DELAYS_MS[attempt]);
        } finally {
          if (this.completed) widget.say("");
        }
      }
    }

    restart() {
      this.text = "";
      this.answer.text.replaceChildren();
      this.answer.sources.replaceChildren();
      this.answer.citations.hidden = true;
      this.answer.seen.clear();
      this.answer.extra.replaceChildren();
    }

    onEvent(name, data) {
      const { widget, answer } = this;
      if (name === "turn.started") {
        // A replay carries the whole stored turn: start the bubble over.
        if (data.replayed || /(^|:)1$/.test(this.lastEventId || "")) this.restart();
        if (!data.replayed) this.turnId = data.user_message_id;
      } else if (name === "delta") {
        // The whole answer is re-rendered per delta: help-center answers are a few kB,
        // and Markdown split across deltas (**bo|ld**) comes out right.
        this.text += data.text;
        answer.text.replaceChildren(markdown(this.text));
        widget.scrollDown();
      } else if (name === "citation") {
        widget.addCitation(answer, data);
      } else if (name === "refusal") {
        answer.item.classList.add("refusal");
        if (data.stage === "classifier") {
          this.question.item.classList.add("refused-question");
          answer.text.textContent = typeof data.detail === "string" && data.detail ? data.detail : politeReason("intent_refused");
        } else {
          answer.extra.append(el("p", { class: "refusal-note" }, politeReason(data.reason)));
        }
        answer.extra.append(widget.humanButton());
      } else if (name === "error") {
        answer.item.classList.add("failed");
        answer.extra.append(el("p", { class: "refusal-note" }, politeReason(data.reason, null, data.detail)), widget.humanButton());
      } else if (name === "turn.completed") {
        if (data.final_state) {  // the log had expired: the stored answer replaces ours
          this.restart();
          this.text = data.content;
          answer.text.replaceChildren(markdown(this.text));
          for (const citation of data.citations) widget.addCitation(answer, citation);
        }
        this.completed = data;
      }
    }
  }

  window.customElements.define("supportai-chat", SupportAIChat);
  // For tests and hosts that want to render stored Markdown the same safe way.
  SupportAIChat.markdown = markdown;
  SupportAIChat.safeHref = safeHref;
})();
