// Before sending: a note under the message box when the message is longer than the model reads
// (its last N pieces; the <meta name="lembra-model-pieces"> the page carries), so a long message
// is not cut silently. Pieces are estimated from words, at the shipped tokenizer's rate for
// English chat text (1.25 pieces a word); "Why this reply?" later shows exactly what was unseen.

import { format } from "./dom.js";

const PIECES_PER_WORD = 1.25;

export function watchModelWindow(input, strings) {
  const pieces = Number(document.querySelector('meta[name="lembra-model-pieces"]')?.content || 0);
  if (!pieces || !input) return;
  const words = Math.floor(pieces / PIECES_PER_WORD);
  const note = document.createElement("p");
  note.id = "window-note";
  note.className = "window-note";
  note.setAttribute("role", "status");
  note.hidden = true;
  input.form.append(note);
  const update = () => {
    const count = input.value.split(/\s+/).filter(Boolean).length;
    const over = count * PIECES_PER_WORD > pieces;
    note.hidden = !over;
    note.textContent = over ? format(strings.exTooLongForModel, { n: words }) : "";
  };
  input.addEventListener("input", update);
  input.addEventListener("keyup", update);
  input.form.addEventListener("submit", () => setTimeout(update));
  update();
}
