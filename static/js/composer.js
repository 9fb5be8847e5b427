// The message box: Enter sends, Shift+Enter adds a line, nothing is sent while an input method
// is composing; the box grows to a cap and the character count shows before the limit is hit.
// The limit counts characters as the server does (code points: an emoji is one), so there is no
// maxlength, which counts UTF-16 units. While a reply is pending the box stays editable (the
// next message can be typed) and only sending waits.

import { format } from "./dom.js";

const MAX_HEIGHT = 200; // px; then the box scrolls

export class Composer {
  constructor(form, { maxChars, strings, onSend }) {
    this.form = form;
    this.input = form.querySelector("#input");
    this.button = form.querySelector("#send");
    this.counter = form.querySelector("#char-count");
    this.maxChars = maxChars;
    this.strings = strings;
    this.onSend = onSend;
    this.busy = false;
    this.input.addEventListener("keydown", (event) => this.keydown(event));
    this.input.addEventListener("input", () => this.update());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.update();
  }

  keydown(event) {
    // keyCode 229 is what some browsers report for keys an IME is still handling.
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey) {
      event.preventDefault();
      this.send();
    }
  }

  length() {
    return [...this.input.value.trim()].length;
  }

  update() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT)}px`;
    const left = this.maxChars - this.length();
    const near = left <= Math.max(50, this.maxChars * 0.2);
    this.counter.textContent = !near ? "" : left >= 0
      ? format(this.strings.charsLeft, { n: left })
      : format(this.strings.tooLong, { n: -left });
    this.counter.classList.toggle("over", left < 0);
    this.button.disabled = this.busy || this.length() === 0 || left < 0;
  }

  send() {
    const text = this.input.value.trim();
    if (this.busy || !text || this.length() > this.maxChars) return;
    this.onSend(text);
  }

  clear() {
    this.input.value = "";
    this.update();
  }

  setBusy(busy) {
    this.busy = busy;
    this.update();
    // Back to the box when the reply lands, unless the visitor has moved on to something else.
    const focus = document.activeElement;
    if (!busy && (focus === document.body || focus === null || focus === this.button)) this.input.focus();
  }
}
