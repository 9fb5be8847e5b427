// The admin pages work without script; this asks before destructive forms are sent and adds
// keyboard triage: j / k move between conversations (inbox) or replies (transcript), Enter opens,
// e writes a better answer, r marks reviewed, f flags, n / p open the next or previous transcript.

import { limitChars } from "../js/dom.js";

// Text boxes capped at the server's length, counted in characters as the server counts them.
for (const input of document.querySelectorAll("[data-max-chars]")) {
  limitChars(input, Number(input.dataset.maxChars));
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

const typing = (target) => target.closest("input, textarea, select, [contenteditable]");

function mover(items, className) {
  let at = -1;
  return (step) => {
    if (!items.length) return null;
    if (at >= 0) items[at].classList.remove(className);
    at = Math.max(0, Math.min(items.length - 1, at + step));
    const item = items[at];
    item.classList.add(className);
    item.scrollIntoView({ block: "nearest" });
    return item;
  };
}

const rows = [...document.querySelectorAll("tr.inbox-row")];
const replies = [...document.querySelectorAll("ol.transcript > li.turn.bot")];
const moveRow = mover(rows, "current");
const moveReply = mover(replies, "current");
let current = null;

function toggleAndSave(id) {
  const box = document.getElementById(id);
  if (!box) return;
  box.checked = !box.checked;
  box.form.requestSubmit();
}

const keys = {
  j: () => { current = rows.length ? moveRow(1) : moveReply(1); current?.querySelector("a")?.focus?.({ preventScroll: true }); },
  k: () => { current = rows.length ? moveRow(-1) : moveReply(-1); current?.querySelector("a")?.focus?.({ preventScroll: true }); },
  Enter: () => {
    const link = current?.querySelector("a.transcript-link");
    if (link) window.location.href = link.href;
  },
  e: () => {
    const reply = current || replies[replies.length - 1];
    const details = reply?.querySelector("details.write-correction");
    if (!details) return;
    details.open = true;
    const area = details.querySelector("textarea");
    area.focus();
    area.select();
  },
  r: () => toggleAndSave("reviewed"),
  f: () => toggleAndSave("flagged"),
  n: () => document.getElementById("next")?.click(),
  p: () => document.getElementById("previous")?.click(),
};

// The suggestions queue has its own keys: accept, reject, skip.
const queue = document.getElementById("queue-accept") ? {
  a: () => document.getElementById("queue-accept").click(),
  r: () => document.getElementById("queue-reject")?.click(),
  s: () => document.getElementById("queue-skip")?.click(),
} : null;

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  const action = (queue ?? keys)[event.key];
  if (!action || (event.key === "Enter" && !rows.length)) return;
  event.preventDefault();
  action();
});

document.body.dataset.ready = "true";
