// The admin transcript's "Why this reply?": the chat page's panel (explain.js), fed by the
// admin's own endpoint, lighting up words in the transcript's turns.

import { ExplainPanel } from "./explain.js";

const script = document.getElementById("admin-explain");
const strings = JSON.parse(document.getElementById("explain-strings").textContent);

async function load(id) {
  const url = script.dataset.url.replace(/0\/explanation$/, `${id}/explanation`);
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error ?? response.statusText);
  return body;
}

const panel = new ExplainPanel(document.getElementById("explain"), strings, {
  load, messages: document.querySelector(".transcript"),
});
for (const button of document.querySelectorAll("[data-explain]")) {
  button.addEventListener("click", () => panel.open({ id: button.dataset.explain }));
}
