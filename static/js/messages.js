// The message list (a role="log" region): bubbles for the visitor's and the bot's turns.
// Each reply has copy, thumbs up/down (a thumbs-down asks what was wrong), "Why this reply?",
// regenerate (newest only) and a "more" menu (suggest a better answer, the model details);
// the newest reply shows them, older ones on hover, focus or a tap. A regenerated reply pages
// through its versions ("‹ 1/2 ›"). The visitor's last message can be edited and sent again.

import { api } from "./api.js";
import { CorrectionForm } from "./correction.js";
import { el, format, icon, limitChars } from "./dom.js";
import { Menu } from "./menu.js";
import { needsSupport, notEnglish } from "./notes.js";

const NEAR_BOTTOM_PX = 80;
const EXCERPT_CHARS = 40;
const HELPLINES = "https://findahelpline.com";

export class MessageList {
  // limits: the server's, in characters (data JSON); modes: the decoding modes' labels by name.
  constructor(list, { strings, limits, modes, onWhy, onRegenerate, onEdit, onError, announce }) {
    this.list = list;
    this.strings = strings;
    this.limits = limits;
    this.maxChars = limits.message;
    this.modeLabels = Object.fromEntries(modes.map((mode) => [mode.name, mode.label]));
    this.callbacks = { onWhy, onRegenerate, onEdit, onError };
    this.announce = announce;
    // A tap on a message shows its actions on touch screens, where nothing hovers.
    list.addEventListener("click", (event) => {
      const item = event.target.closest(".message");
      if (item && event.target.closest(".bubble")) item.classList.toggle("show-actions");
    });
  }

  render(messages) {
    let asked = null;
    this.list.replaceChildren(...messages.map((m) => {
      const node = this.item(m, asked);
      if (m.role === "user") asked = { text: m.text, support: m.support };
      return node;
    }));
    this.markLast();
    this.scroll(true);
  }

  append(message, { force = false } = {}) {
    const follow = force || this.nearBottom();
    this.list.append(this.item(message, this.lastAsked()));
    this.markLast();
    this.scroll(follow);
  }

  replace(oldId, message) {
    const follow = this.nearBottom();
    const old = this.find(oldId);
    if (old) old.replaceWith(this.item(message, this.lastAsked(old)));
    else this.list.append(this.item(message, this.lastAsked()));
    this.markLast();
    this.scroll(follow);
  }

  find(id) {
    return this.list.querySelector(`[data-id="${CSS.escape(String(id))}"]`);
  }

  get empty() {
    return this.list.children.length === 0;
  }

  nearBottom() {
    const { scrollTop, scrollHeight, clientHeight } = this.list;
    return scrollHeight - scrollTop - clientHeight < NEAR_BOTTOM_PX;
  }

  scroll(follow = true) {
    if (follow) this.list.scrollTop = this.list.scrollHeight;
  }

  // The visitor's message before `before` (or the last one), which a reply answers: its text and
  // the server's support class (chatbot/support.py).
  lastAsked(before = null) {
    const users = [...this.list.querySelectorAll(".message.user")]
      .filter((node) => !before || node.compareDocumentPosition(before) & Node.DOCUMENT_POSITION_FOLLOWING);
    const node = users.at(-1);
    if (!node) return null;
    return { text: node.querySelector(".text")?.textContent ?? "", support: node.dataset.support || null };
  }

  item(message, asked = null) {
    const who = message.role === "user" ? this.strings.you : this.strings.bot;
    const text = el("p", { className: "text", text: message.text });
    const bubble = el("div", { className: "bubble" }, [
      el("span", { className: "visually-hidden", text: `${who}: ` }), text,
    ]);
    const node = el("li", {
      className: `message ${message.role}`,
      dataset: { id: message.id, role: message.role, ...(message.support ? { support: message.support } : {}) },
    }, [bubble]);
    if (message.role === "user") {
      const edit = this.editButton(message, node);
      node.append(edit);
      if (message.versions?.length > 1) node.append(this.wordings(message, node, text));
      return node;
    }
    const correction = new CorrectionForm(message, {
      strings: this.strings, maxChars: this.maxChars, onError: this.callbacks.onError,
    });
    const reason = el("div", { className: "feedback-reason" });
    node.append(this.actions(message, { text, correction, reason }), ...this.notes(asked),
      reason, correction.node);
    return node;
  }

  // The server classifies each visitor message (ordinary, sad, crisis); a message stored before it
  // did falls back on the page's own keyword guess.
  notes(asked) {
    const notes = [];
    if (!asked?.text) return notes;
    const support = asked.support ? asked.support !== "ordinary" : needsSupport(asked.text);
    if (notEnglish(asked.text)) {
      notes.push(el("p", { className: "reply-note language-note", role: "note", text: this.strings.languageNote }));
    }
    if (support) {
      notes.push(el("p", { className: "reply-note support-note", role: "note" }, [
        el("span", { text: `${this.strings.supportNote} ` }),
        el("a", { href: HELPLINES, target: "_blank", rel: "noopener", text: "findahelpline.com" }),
      ]));
    }
    return notes;
  }

  details(message) {
    if (message.model_version === "support") return this.strings.supportReply;
    const mode = message.options?.mode;
    return format(this.strings.modelInfo, {
      version: message.model_version ?? "?",
      mode: this.modeLabels[mode] ?? mode ?? "?",
      ms: Math.round(message.latency_ms ?? 0),
    });
  }

  // An edited message pages through its wordings ("‹ 1/2 ›"); an older wording brings back the
  // reply it got, in place of the newest one, with its own thumbs and versions.
  wordings(message, node, text) {
    const versions = message.versions;
    const last = versions.length - 1;
    let shown = last;
    let newest = null; // the newest wording's reply node, kept while an older wording is shown
    let built = false; // the first call runs before the reply is in the list
    const counter = el("span", { className: "version-count" });
    const button = (name, label, onclick, extra) => el("button", {
      type: "button", className: `icon-btn ${extra}`, "aria-label": label, title: label, onclick,
    }, [icon(name)]);
    const prev = button("prev", this.strings.previousWording, () => show(shown - 1), "version-prev");
    const next = button("next", this.strings.nextWording, () => show(shown + 1), "version-next");
    const branch = (wording) => {
      if (!wording.replies?.length) return null;
      const replies = wording.replies;
      const reply = this.item({ ...replies.at(-1), versions: replies }, { text: wording.text, support: wording.support });
      reply.classList.add("branch");
      return reply;
    };
    const show = (i) => {
      const from = shown;
      shown = Math.max(0, Math.min(last, i));
      const wording = versions[shown];
      text.textContent = wording.text;
      counter.textContent = `${shown + 1}/${versions.length}`;
      counter.setAttribute("aria-label", format(this.strings.wordingOf, { n: shown + 1, total: versions.length }));
      prev.disabled = shown === 0;
      next.disabled = shown === last;
      node.classList.toggle("older-wording", shown !== last);
      if (!built || from === shown) return;
      const after = node.nextElementSibling;
      const onScreen = after?.classList.contains("bot") ? after : null;
      if (from === last) newest = onScreen; // as it is now: a regenerate may have replaced it
      const wanted = shown === last ? newest : branch(wording);
      if (onScreen && wanted) onScreen.replaceWith(wanted);
      else if (onScreen) onScreen.remove();
      else if (wanted) node.after(wanted);
    };
    show(last);
    built = true;
    return el("div", { className: "versions wordings", role: "group", "aria-label": this.strings.wordings },
      [prev, counter, next]);
  }

  actions(message, { text, correction, reason }) {
    // `shown` is the version on screen: copy, thumbs, "why" and suggestions act on it.
    const versions = message.versions?.length ? message.versions : [message];
    let shown = versions.length - 1;
    const current = () => ({ ...message, ...versions[shown] });
    const rating = versions[shown].feedback?.rating ?? 0;
    const button = (name, label, onclick, extra = "") => el("button", {
      type: "button", className: `icon-btn ${extra}`, "aria-label": label, title: label, onclick,
    }, [icon(name)]);
    const thumb = (value, name, label, extra) => el("button", {
      type: "button",
      className: `icon-btn thumb ${extra}`,
      "aria-label": label,
      title: label,
      "aria-pressed": String(rating === value),
      dataset: { rating: value },
      onclick: (event) => this.rate(versions[shown], value, event.currentTarget.parentElement, reason),
    }, [icon(name)]);
    const more = button("more", this.strings.moreActions, null, "more");
    const suggest = el("button", {
      type: "button", className: "menu-item suggest", role: "menuitem",
      "aria-controls": correction.id, "aria-expanded": "false", text: this.strings.suggest,
    });
    // The form's open state belongs to the menu item; focus comes back to the menu's button.
    const toggler = { setAttribute: (k, v) => suggest.setAttribute(k, v), focus: () => more.focus() };
    suggest.addEventListener("click", () => correction.toggle(toggler));
    const menu = el("ul", { className: "menu start", role: "menu", "aria-label": this.strings.moreActions, hidden: true }, [
      el("li", { role: "none" }, [suggest]),
      el("li", { role: "none" }, [el("span", {
        className: "menu-detail", role: "menuitem", "aria-disabled": "true", tabindex: "-1",
        text: this.details(message),
      })]),
    ]);
    more.setAttribute("aria-haspopup", "menu");
    more.setAttribute("aria-expanded", "false");
    new Menu(more, menu);
    const excerpt = message.text.length > EXCERPT_CHARS
      ? `${message.text.slice(0, EXCERPT_CHARS - 1)}…` : message.text;
    const group = el("div", {
      className: "actions", role: "group", "aria-label": format(this.strings.replyActions, { text: excerpt }),
    });
    let show = () => {};
    if (versions.length > 1) {
      const counter = el("span", { className: "version-count" });
      const prev = button("prev", this.strings.previousVersion, () => show(shown - 1), "version-prev");
      const next = button("next", this.strings.nextVersion, () => show(shown + 1), "version-next");
      show = (i) => {
        shown = Math.max(0, Math.min(versions.length - 1, i));
        text.textContent = versions[shown].text;
        counter.textContent = `${shown + 1}/${versions.length}`;
        counter.setAttribute("aria-label", format(this.strings.versionOf, { n: shown + 1, total: versions.length }));
        prev.disabled = shown === 0;
        next.disabled = shown === versions.length - 1;
        // this version's own rating and suggestions
        const now = versions[shown].feedback?.rating ?? 0;
        for (const b of group.querySelectorAll(".thumb")) {
          b.setAttribute("aria-pressed", String(Number(b.dataset.rating) === now));
        }
        reason.replaceChildren();
        correction.show(versions[shown]);
      };
      group.append(el("span", { className: "versions" }, [prev, counter, next]));
    }
    group.append(
      button("copy", this.strings.copy, (e) => this.copy(current().text, e.currentTarget), "copy"),
      thumb(1, "thumb-up", this.strings.thumbsUp, "up"),
      thumb(-1, "thumb-down", this.strings.thumbsDown, "down"),
      el("button", {
        type: "button", className: "icon-btn why labelled", "aria-label": this.strings.why, title: this.strings.why,
        onclick: () => this.callbacks.onWhy(current()),
      }, [icon("why"), el("span", { className: "btn-label", "aria-hidden": "true", text: this.strings.whyShort })]),
      button("regenerate", this.strings.regenerate,
        () => this.callbacks.onRegenerate(message), "regenerate"),
      el("span", { className: "menu-wrap" }, [more, menu]),
    );
    show(shown);
    return group;
  }

  // Clicking the pressed thumb again clears the rating; a new thumbs-down asks why.
  async rate(message, value, group, reason) {
    const current = message.feedback?.rating ?? 0;
    try {
      if (current === value) {
        await api.clearFeedback(message.id);
        message.feedback = null;
      } else {
        const data = await api.feedback(message.id, value);
        message.feedback = data.feedback;
        this.announce(this.strings.feedbackSaved);
      }
      const now = message.feedback?.rating ?? 0;
      for (const b of group.querySelectorAll(".thumb")) {
        b.setAttribute("aria-pressed", String(Number(b.dataset.rating) === now));
      }
      if (now === -1) this.askReason(message, reason, group.querySelector(".thumb.down"));
      else reason.replaceChildren();
    } catch (err) {
      this.callbacks.onError(err);
    }
  }

  // "What was wrong?": an optional comment stored with the thumbs-down.
  askReason(message, container, thumb) {
    const id = `reason-${message.id}`;
    const area = limitChars(el("textarea", { id, rows: "2" }), this.limits.comment);
    const close = () => {
      container.replaceChildren();
      thumb.focus();
    };
    const form = el("form", { className: "feedback-form" }, [
      el("label", { for: id, text: this.strings.reasonLabel }),
      area,
      el("div", { className: "correction-buttons" }, [
        el("button", { type: "submit", className: "btn primary", text: this.strings.reasonSend }),
        el("button", { type: "button", className: "btn", text: this.strings.reasonSkip, onclick: close }),
      ]),
    ]);
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const comment = area.value.trim();
      if (!comment) return close();
      try {
        const data = await api.feedback(message.id, -1, comment);
        message.feedback = data.feedback;
        this.announce(this.strings.feedbackSaved);
        close();
      } catch (err) {
        this.callbacks.onError(err);
      }
    });
    container.replaceChildren(form);
    area.focus();
  }

  async copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = el("textarea", { className: "visually-hidden", "aria-hidden": "true" });
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.classList.add("done");
    button.replaceChildren(icon("check"));
    button.setAttribute("title", this.strings.copied);
    this.announce(this.strings.copied);
    setTimeout(() => {
      button.classList.remove("done");
      button.replaceChildren(icon("copy"));
      button.setAttribute("title", this.strings.copy);
    }, 1500);
  }

  // The visitor's last message: a pencil that turns the bubble into a box to edit and resend.
  editButton(message, node) {
    return el("button", {
      type: "button",
      className: "icon-btn edit-message",
      "aria-label": this.strings.editMessage,
      title: this.strings.editMessage,
      onclick: (event) => this.startEdit(message, node, event.currentTarget),
    }, [icon("edit")]);
  }

  startEdit(message, node, button) {
    const id = `edit-${message.id}`;
    const area = limitChars(el("textarea", { id, rows: "3" }), this.maxChars);
    area.value = node.querySelector(".text").textContent;
    const bubble = node.querySelector(".bubble");
    const cancel = () => {
      form.replaceWith(bubble);
      button.hidden = false;
      button.focus();
    };
    const form = el("form", { className: "edit-form" }, [
      el("label", { for: id, className: "visually-hidden", text: this.strings.editMessage }),
      area,
      el("div", { className: "edit-buttons" }, [
        el("button", { type: "button", className: "btn", text: this.strings.cancel, onclick: cancel }),
        el("button", { type: "submit", className: "btn primary", text: this.strings.editSend }),
      ]),
    ]);
    const submit = () => {
      const text = area.value.trim();
      if (!text || [...text].length > this.maxChars) return;
      this.callbacks.onEdit(message, text);
    };
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        cancel();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        submit();
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    bubble.replaceWith(form);
    button.hidden = true;
    area.focus();
  }

  // Only the newest reply, when it is the last message, can be regenerated; only the visitor's
  // last message can be edited.
  markLast() {
    const items = [...this.list.children];
    items.forEach((item, i) => item.classList.toggle("last", i === items.length - 1));
    const users = items.filter((item) => item.classList.contains("user"));
    users.forEach((item, i) => item.classList.toggle("last-user", i === users.length - 1));
  }
}
