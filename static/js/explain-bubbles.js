// The conversation's own bubbles as words, while "Why this reply?" is open: each word the model
// read is wrapped in a span that lights up by how much the chosen reply word used it, and
// pointing at one (hover or tap) asks the panel which reply words used it. Closing the panel puts
// the bubbles' text back exactly as it was.
//
// Works on the chat page (li.message > .bubble > .text) and the admin transcript (li.turn > .text).

const ROLE = { user: "you", bot: "lembra" };
const LIT = 0.05; // a word under this share of the peak is not lit

export class BubbleWords {
  constructor(root) {
    this.root = root;
    this.saved = new Map(); // text element -> its original text
    this.spans = []; // context word index -> span, where the bubble's words matched
  }

  attach(messageId, context, { enter, leave }) {
    this.restore();
    const reply = this.root?.querySelector(`[data-id="${CSS.escape(String(messageId))}"], #m${CSS.escape(String(messageId))}`);
    if (!reply) return;
    const turns = this.turnsBefore(reply);
    // The visitor's words the panel lights up come into view, at the top, clear of a phone's sheet.
    const asked = turns.findLast((t) => t.role === "user")?.nodes[0];
    (asked ?? reply).scrollIntoView({ block: "start" });
    const indices = [...new Set(context.map((w) => w.turn_index))];
    const groups = turns.slice(-indices.length);
    indices.forEach((turnIndex, k) => {
      const group = groups[k - (indices.length - groups.length)];
      const words = context.map((w, c) => ({ ...w, c })).filter((w) => w.turn_index === turnIndex);
      if (!group || ROLE[group.role] !== words[0]?.turn) return;
      const texts = group.nodes.map((node) => node.querySelector(":scope > .bubble > .text, :scope > .text"))
        .filter(Boolean);
      const count = texts.reduce((n, t) => n + t.textContent.split(/\s+/).filter(Boolean).length, 0);
      if (count !== words.length) return; // edited since, or not what the model read: leave it
      let next = 0;
      for (const text of texts) {
        this.saved.set(text, text.textContent);
        const parts = text.textContent.split(/(\s+)/).filter((p) => p !== "");
        text.replaceChildren(...parts.map((part) => {
          if (/^\s+$/.test(part)) return document.createTextNode(part);
          const word = words[next++];
          const span = document.createElement("span");
          span.className = `bubble-word${word.seen ? "" : " unseen"}`;
          span.textContent = part;
          span.dataset.c = word.c;
          if (word.seen) {
            span.addEventListener("mouseenter", () => enter(word.c));
            span.addEventListener("click", () => enter(word.c));
            span.addEventListener("mouseleave", () => leave());
          }
          this.spans[word.c] = span;
          return span;
        }));
      }
    });
  }

  // Consecutive messages of one speaker are one turn, as the model reads them.
  turnsBefore(reply) {
    const turns = [];
    for (let node = reply.previousElementSibling; node; node = node.previousElementSibling) {
      const role = node.classList.contains("user") ? "user" : node.classList.contains("bot") ? "bot" : null;
      if (!role) continue;
      if (turns.length && turns[0].role === role) turns[0].nodes.unshift(node);
      else turns.unshift({ role, nodes: [node] });
    }
    return turns;
  }

  shade(weights, peak) {
    this.spans.forEach((span, c) => {
      if (!span) return;
      const w = (weights[c] ?? 0) / peak;
      span.style.setProperty("--w", w.toFixed(3));
      span.classList.toggle("lit", w >= LIT);
      span.classList.remove("focus");
    });
  }

  focus(c) {
    this.spans.forEach((span, i) => span?.classList.toggle("focus", i === c));
  }

  restore() {
    for (const [text, original] of this.saved) text.textContent = original;
    this.saved.clear();
    this.spans = [];
  }
}
