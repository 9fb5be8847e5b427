// "Suggest a better answer": a small form under a reply. The suggestion is stored beside the
// reply for an admin to accept or reject; accepted ones become training targets.

import { api } from "./api.js";
import { el, limitChars } from "./dom.js";

let counter = 0;

export class CorrectionForm {
  constructor(message, { strings, maxChars, onError }) {
    this.message = message;
    this.strings = strings;
    this.maxChars = maxChars;
    this.onError = onError;
    this.id = `correction-${message.id}-${++counter}`;
    this.node = el("div", { className: "correction", id: this.id });
    this.renderSent();
  }

  // Paging to another version of the reply: the form then acts on that version.
  show(message) {
    this.message = message;
    this.form?.remove();
    this.form = null;
    this.renderSent();
  }

  // The suggestions already sent for this reply, newest last.
  renderSent() {
    const sent = this.message.corrections ?? [];
    this.node.replaceChildren();
    if (sent.length === 0) return;
    const last = sent[sent.length - 1];
    this.node.append(el("p", { className: "correction-sent meta", role: "status" }, [
      el("span", { text: `${this.strings.yourSuggestion} ` }),
      el("q", { text: last.text }),
    ]));
  }

  toggle(button) {
    if (this.form) {
      this.close(button);
      return;
    }
    const label = el("label", { for: `${this.id}-text`, text: this.strings.suggestLabel });
    const area = limitChars(el("textarea", { id: `${this.id}-text`, rows: "2", required: true }),
      this.maxChars);
    const send = el("button", { type: "submit", className: "btn primary", text: this.strings.suggestSend });
    const cancel = el("button", {
      type: "button", className: "btn", text: this.strings.cancel,
      onclick: () => this.close(button),
    });
    const error = el("p", { className: "correction-error", role: "alert", hidden: true });
    this.form = el("form", { className: "correction-form", noValidate: true }, [
      label, area, el("div", { className: "correction-buttons" }, [send, cancel]), error,
    ]);
    this.form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.close(button);
      }
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit(area, send, error, button);
    });
    this.node.append(this.form);
    button.setAttribute("aria-expanded", "true");
    area.focus();
  }

  close(button) {
    this.form?.remove();
    this.form = null;
    button.setAttribute("aria-expanded", "false");
    button.focus();
  }

  async submit(area, send, error, button) {
    const text = area.value.trim();
    if (!text) {
      error.textContent = this.strings.suggestEmpty;
      error.hidden = false;
      area.focus();
      return;
    }
    send.disabled = true;
    try {
      const correction = await api.correction(this.message.id, text);
      this.message.corrections = [...(this.message.corrections ?? []), correction];
      this.form = null;
      button.setAttribute("aria-expanded", "false");
      this.renderSent();
      button.focus();
    } catch (err) {
      send.disabled = false;
      if (err.status === 422) {
        error.textContent = err.message;
        error.hidden = false;
      } else {
        this.onError(err);
      }
    }
  }
}
