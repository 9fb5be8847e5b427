// Boot: read the page's data, build the pieces, wire them together.

import { Chat } from "./chat.js";
import { Composer } from "./composer.js";
import { limitChars } from "./dom.js";
import { api } from "./api.js";
import { ExplainPanel } from "./explain.js";
import { watchModelWindow } from "./window-note.js";
import { Menu } from "./menu.js";
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
  // The open conversation's menu (rename, export, delete) exists only when one is open.
  setConversation(id) {
    $("conversation-actions").hidden = id === null;
    if (id === null) return;
    $("export-markdown").href = api.exportUrl(id, "markdown");
    $("export-json").href = api.exportUrl(id, "json");
  },
};

// A short line at the bottom of the chat ("Copied", "Thanks for the feedback"), also read out
// by screen readers (role="status").
let toastTimer;
function announce(text) {
  clearTimeout(toastTimer);
  $("toast").textContent = text;
  toastTimer = setTimeout(() => { $("toast").textContent = ""; }, 2500);
}

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

const settings = new Settings($("settings"), data.defaults, data.modes);
const explain = new ExplainPanel($("explain"), strings);
const reportError = (err) => ui.showError(chat.why(err));
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
  limits: data.limits,
  modes: data.modes,
  onWhy: (message) => explain.open(message),
  onRegenerate: (message) => chat.regenerate(message),
  onEdit: (message, text) => chat.edit(message, text),
  onError: reportError,
  announce,
});
const composer = new Composer($("composer"), {
  maxChars: data.limits.message,
  strings,
  onSend: (text) => chat.send(text),
});
watchModelWindow($("input"), strings);
chat = new Chat({ strings, composer, messages, sidebar, settings, ui });

$("retry").addEventListener("click", () => chat.retry());
// The empty chat's starter prompts send themselves.
for (const starter of document.querySelectorAll("#empty-chat .starter")) {
  starter.addEventListener("click", () => chat.send(starter.textContent.trim()));
}
$("header-new-chat").addEventListener("click", () => chat.open(null));
new Menu($("conversation-menu-button"), $("conversation-menu"));
$("delete-open-conversation").addEventListener("click", () => sidebar.remove(chat.conversationId));

// Rename: a small dialog with the current title selected.
const rename = $("rename");
limitChars($("rename-input"), data.limits.title);
$("rename-conversation").addEventListener("click", () => {
  $("rename-input").value = $("chat-title").textContent;
  $("rename-error").hidden = true;
  rename.showModal();
  $("rename-input").select();
});
$("rename-cancel").addEventListener("click", () => rename.close());
$("rename-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const title = $("rename-input").value.trim();
  if (!title) {
    $("rename-error").textContent = strings.renameBlank;
    $("rename-error").hidden = false;
    $("rename-input").focus();
    return;
  }
  try {
    await chat.rename(title);
    rename.close();
    $("conversation-menu-button").focus();
  } catch (err) {
    $("rename-error").textContent = chat.why(err);
    $("rename-error").hidden = false;
  }
});

// "Scroll to the latest message" appears once the newest message is out of sight.
const list = $("messages");
const scrollLatest = $("scroll-latest");
const updateScrollButton = () => { scrollLatest.hidden = messages.nearBottom(); };
list.addEventListener("scroll", updateScrollButton, { passive: true });
new ResizeObserver(updateScrollButton).observe(list);
new MutationObserver(updateScrollButton).observe(list, { childList: true });
scrollLatest.addEventListener("click", () => {
  list.scrollTo({ top: list.scrollHeight, behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
  $("input").focus({ preventScroll: true });
});
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
