// The conversation list: newest first, titled from the first message, with search and delete.

import { api } from "./api.js";
import { el, icon } from "./dom.js";

const SEARCH_DELAY_MS = 250;

export class Sidebar {
  constructor(root, { strings, onOpen, onNew, onDeleted, onError }) {
    this.root = root;
    this.list = root.querySelector("#conversation-list");
    this.empty = root.querySelector("#conversation-empty");
    this.search = root.querySelector("#search");
    this.strings = strings;
    this.callbacks = { onOpen, onNew, onDeleted, onError };
    this.activeId = null;
    this.timer = null;
    root.querySelector("#new-chat").addEventListener("click", () => onNew());
    this.search.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.refresh(), SEARCH_DELAY_MS);
    });
  }

  async refresh() {
    const query = this.search.value.trim();
    try {
      const { conversations } = await api.listConversations(query);
      this.render(conversations, query);
    } catch (err) {
      this.callbacks.onError(err);
    }
  }

  render(conversations, query) {
    this.list.replaceChildren(...conversations.map((c) => this.item(c)));
    this.empty.hidden = conversations.length > 0;
    this.empty.textContent = query ? this.strings.noMatches : this.strings.noConversations;
  }

  item(conversation) {
    const title = conversation.title || this.strings.untitled;
    const active = conversation.id === this.activeId;
    // A search result shows where its words were found, under the title.
    const children = conversation.snippet
      ? [el("span", { className: "conversation-title", text: title }),
        el("span", { className: "conversation-snippet", text: conversation.snippet })]
      : [];
    const link = el("a", {
      href: `/c/${conversation.id}`,
      className: "conversation-link",
      text: children.length ? undefined : title,
      title,
      "aria-current": active ? "page" : null,
      onclick: (event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        this.callbacks.onOpen(conversation.id);
      },
    }, children);
    const remove = el("button", {
      type: "button",
      className: "icon-btn delete-conversation",
      "aria-label": `${this.strings.delete}: ${title}`,
      title: this.strings.delete,
      onclick: () => this.remove(conversation.id),
    }, [icon("trash")]);
    return el("li", {
      className: active ? "conversation active" : "conversation",
      dataset: { id: conversation.id },
    }, [link, remove]);
  }

  async remove(id) {
    if (!window.confirm(this.strings.confirmDelete)) return;
    try {
      await api.deleteConversation(id);
      await this.refresh();
      this.callbacks.onDeleted(id);
    } catch (err) {
      this.callbacks.onError(err);
    }
  }

  setActive(id) {
    this.activeId = id;
    for (const item of this.list.children) {
      const active = Number(item.dataset.id) === id;
      item.classList.toggle("active", active);
      const link = item.querySelector("a");
      if (active) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }
}
