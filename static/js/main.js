// Boot: read the page's data, build the pieces, wire them together.

import { Chat } from "./chat.js";
import { Composer } from "./composer.js";
import { ExplainPanel } from "./explain.js";
import { MessageList } from "./messages.js";
import { Settings } from "./settings.js";
import { Sidebar } from "./sidebar.js";

const data = JSON.parse(document.getElementById("lembra-data").textContent);
const { strings } = data;
const $ = (id) => document.getElementById(id);
const app = $("app");

const ui = {
  setTitle(title) {
    $("chat-title").textContent = title;
    document.title = `${title} · Lembra`;
  },
  setEmpty(empty) {
    $("empty-chat").hidden = !empty;
  },
  setTyping(on) {
    $("typing").hidden = !on;
  },
  showError(text) {
    $("error-text").textContent = text;
    $("error").hidden = false;
  },
  hideError() {
    $("error").hidden = true;
  },
};

// On phones the sidebar slides over the chat; while it is open the chat behind it is inert.
const overlay = window.matchMedia("(max-width: 760px)");

function setSidebarOpen(open) {
  const wasOpen = app.classList.contains("sidebar-open");
  app.classList.toggle("sidebar-open", open);
  $("toggle-sidebar").setAttribute("aria-expanded", String(open));
  $("scrim").hidden = !open;
  $("chat").inert = open && overlay.matches;
  if (open) $("search").focus();
  else if (wasOpen && overlay.matches) $("toggle-sidebar").focus();
}

const settings = new Settings($("settings"), data.defaults);
const explain = new ExplainPanel($("explain"), strings);
const reportError = (err) => ui.showError(err.message);
let chat;

const sidebar = new Sidebar($("sidebar"), {
  strings,
  onOpen: (id) => {
    setSidebarOpen(false);
    chat.open(id);
  },
  onNew: () => {
    setSidebarOpen(false);
    chat.open(null);
  },
  onDeleted: (id) => {
    if (chat.conversationId === id) chat.open(null);
  },
  onError: reportError,
});
const messages = new MessageList($("messages"), {
  strings,
  maxChars: data.maxChars,
  onWhy: (message) => explain.open(message),
  onRegenerate: (message) => chat.regenerate(message),
  onError: reportError,
});
const composer = new Composer($("composer"), {
  maxChars: data.maxChars,
  strings,
  onSend: (text) => chat.send(text),
});
chat = new Chat({ strings, composer, messages, sidebar, settings, ui });

$("retry").addEventListener("click", () => chat.retry());
$("open-settings").addEventListener("click", () => settings.open());
$("toggle-sidebar").addEventListener("click", () =>
  setSidebarOpen(!app.classList.contains("sidebar-open")));
$("scrim").addEventListener("click", () => setSidebarOpen(false));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && app.classList.contains("sidebar-open")) setSidebarOpen(false);
});
window.addEventListener("popstate", (event) => chat.open(event.state?.id ?? null, { push: false }));

history.replaceState({ id: data.conversationId }, "", location.href);
await sidebar.refresh();
await chat.open(data.conversationId, { push: false });
document.body.dataset.ready = "true";
