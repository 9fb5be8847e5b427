// The message list (a role="log" region): bubbles for the visitor's and the bot's turns, and
// the actions on each reply: thumbs up/down, copy, "Why this reply?", "Suggest a better answer",
// regenerate (last only).

import { api } from "./api.js";
import { CorrectionForm } from "./correction.js";
import { el, format, icon } from "./dom.js";

export class MessageList {
  constructor(list, { strings, maxChars, onWhy, onRegenerate, onError }) {
    this.list = list;
    this.strings = strings;
    this.maxChars = maxChars;
    this.callbacks = { onWhy, onRegenerate, onError };
  }

  render(messages) {
    this.list.replaceChildren(...messages.map((m) => this.item(m)));
    this.markLast();
    this.scroll();
  }

  append(message) {
    this.list.append(this.item(message));
    this.markLast();
    this.scroll();
  }

  replace(oldId, message) {
    const old = this.list.querySelector(`[data-id="${CSS.escape(String(oldId))}"]`);
    if (old) old.replaceWith(this.item(message));
    else this.list.append(this.item(message));
    this.markLast();
    this.scroll();
  }

  get empty() {
    return this.list.children.length === 0;
  }

  scroll() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  item(message) {
    const who = message.role === "user" ? this.strings.you : this.strings.bot;
    const bubble = el("div", { className: "bubble" }, [
      el("span", { className: "visually-hidden", text: `${who}: ` }),
      el("p", { className: "text", text: message.text }),
    ]);
    const children = [bubble];
    if (message.role === "bot") {
      const correction = new CorrectionForm(message, {
        strings: this.strings, maxChars: this.maxChars, onError: this.callbacks.onError,
      });
      children.push(this.actions(message, correction), this.meta(message), correction.node);
    }
    return el("li", {
      className: `message ${message.role}`,
      dataset: { id: message.id, role: message.role },
    }, children);
  }

  meta(message) {
    const text = format(this.strings.modelInfo, {
      version: message.model_version ?? "?",
      mode: message.options?.mode ?? "?",
      ms: Math.round(message.latency_ms ?? 0),
    });
    return el("p", { className: "meta", text });
  }

  actions(message, correction) {
    const rating = message.feedback?.rating ?? 0;
    const thumb = (value, name, label) => el("button", {
      type: "button",
      className: "icon-btn thumb",
      "aria-label": label,
      title: label,
      "aria-pressed": String(rating === value),
      dataset: { rating: value },
      onclick: (event) => this.rate(message, value, event.currentTarget.parentElement),
    }, [icon(name)]);
    const button = (name, label, onclick, extra = "") => el("button", {
      type: "button", className: `icon-btn ${extra}`, "aria-label": label, title: label, onclick,
    }, [icon(name)]);
    return el("div", { className: "actions", role: "group", "aria-label": this.strings.bot }, [
      thumb(1, "thumb-up", this.strings.thumbsUp),
      thumb(-1, "thumb-down", this.strings.thumbsDown),
      button("copy", this.strings.copy, (e) => this.copy(message, e.currentTarget), "copy"),
      button("why", this.strings.why, () => this.callbacks.onWhy(message), "why"),
      el("button", {
        type: "button",
        className: "icon-btn suggest",
        "aria-label": this.strings.suggest,
        title: this.strings.suggest,
        "aria-expanded": "false",
        "aria-controls": correction.id,
        onclick: (event) => correction.toggle(event.currentTarget),
      }, [icon("suggest")]),
      button("regenerate", this.strings.regenerate,
        () => this.callbacks.onRegenerate(message), "regenerate"),
    ]);
  }

  // Clicking the pressed thumb again clears the rating.
  async rate(message, value, group) {
    const current = message.feedback?.rating ?? 0;
    try {
      if (current === value) {
        await api.clearFeedback(message.id);
        message.feedback = null;
      } else {
        const data = await api.feedback(message.id, value);
        message.feedback = data.feedback;
      }
      const now = message.feedback?.rating ?? 0;
      for (const b of group.querySelectorAll(".thumb")) {
        b.setAttribute("aria-pressed", String(Number(b.dataset.rating) === now));
      }
    } catch (err) {
      this.callbacks.onError(err);
    }
  }

  async copy(message, button) {
    try {
      await navigator.clipboard.writeText(message.text);
    } catch {
      const area = el("textarea", { className: "visually-hidden", "aria-hidden": "true" });
      area.value = message.text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.classList.add("done");
    button.setAttribute("title", this.strings.copied);
    setTimeout(() => {
      button.classList.remove("done");
      button.setAttribute("title", this.strings.copy);
    }, 1500);
  }

  // Only the newest reply, when it is the last message, can be regenerated.
  markLast() {
    const items = [...this.list.children];
    items.forEach((item, i) => item.classList.toggle("last", i === items.length - 1));
  }
}
