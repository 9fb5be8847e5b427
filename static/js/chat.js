// The chat controller: which conversation is open, sending, retrying and regenerating.
// The URL is /c/<id> for an open conversation, so a reload comes back to it.

import { api } from "./api.js";

export class Chat {
  constructor({ strings, composer, messages, sidebar, settings, ui }) {
    this.strings = strings;
    this.composer = composer;
    this.messages = messages;
    this.sidebar = sidebar;
    this.settings = settings;
    this.ui = ui;
    this.conversationId = null;
    this.retryAction = null;
  }

  async open(id, { push = true } = {}) {
    this.hideError();
    if (id === null) {
      this.show(null, [], "");
      if (push) history.pushState({ id: null }, "", "/");
      this.composer.input.focus();
      return;
    }
    try {
      const conversation = await api.getConversation(id);
      this.show(conversation.id, conversation.messages, conversation.title);
      if (push) history.pushState({ id }, "", `/c/${id}`);
    } catch (err) {
      if (err.status === 404) {
        history.replaceState({ id: null }, "", "/");
        this.show(null, [], "");
      } else {
        this.showError(`${this.strings.loadFailed} ${err.message}`, () => this.open(id, { push }));
      }
    }
  }

  show(id, messages, title) {
    this.conversationId = id;
    this.messages.render(messages);
    this.ui.setTitle(title || this.strings.untitled);
    this.ui.setEmpty(messages.length === 0);
    this.sidebar.setActive(id);
  }

  async send(text) {
    this.hideError();
    this.setWaiting(true);
    const pending = { id: "pending", role: "user", text };
    this.messages.append(pending);
    this.ui.setEmpty(false);
    this.composer.clear();
    try {
      if (this.conversationId === null) {
        const conversation = await api.createConversation();
        this.conversationId = conversation.id;
        history.pushState({ id: conversation.id }, "", `/c/${conversation.id}`);
      }
      const data = await api.postMessage(this.conversationId, text, this.settings.options());
      this.messages.replace("pending", data.user);
      this.messages.append(data.reply);
      const title = await this.refreshSidebar();
      if (title) this.ui.setTitle(title);
    } catch (err) {
      this.failedSend(err, text);
    } finally {
      this.setWaiting(false);
    }
  }

  failedSend(err, text) {
    if (err.body?.user) {
      // The message is stored; only the reply is missing. Retry asks for a reply to it.
      this.messages.replace("pending", err.body.user);
      this.refreshSidebar();
      this.showError(`${this.strings.replyFailed} ${err.message}`, () => this.regenerate(null));
      return;
    }
    this.messages.list.querySelector('[data-id="pending"]')?.remove();
    this.ui.setEmpty(this.messages.empty);
    this.composer.input.value = text;
    this.composer.update();
    const why = err.status === 0 ? this.strings.networkError : err.message;
    this.showError(`${this.strings.sendFailed} ${why}`, () => this.send(text));
  }

  // Answer the last user message again; `message` is the reply it replaces (or null).
  async regenerate(message) {
    if (this.conversationId === null) return;
    this.hideError();
    this.setWaiting(true);
    try {
      const data = await api.reply(this.conversationId, this.settings.options());
      if (message) this.messages.replace(message.id, data.reply);
      else this.messages.append(data.reply);
      this.refreshSidebar();
    } catch (err) {
      const why = err.status === 0 ? this.strings.networkError : err.message;
      this.showError(`${this.strings.replyFailed} ${why}`, () => this.regenerate(message));
    } finally {
      this.setWaiting(false);
    }
  }

  async refreshSidebar() {
    await this.sidebar.refresh();
    this.sidebar.setActive(this.conversationId);
    // null when a search filter hides the open conversation: the title stays as it is.
    const active = this.sidebar.list.querySelector(".conversation.active a");
    return active ? active.textContent : null;
  }

  setWaiting(waiting) {
    this.composer.setBusy(waiting);
    this.ui.setTyping(waiting);
    this.messages.list.setAttribute("aria-busy", String(waiting));
  }

  showError(text, retry) {
    this.retryAction = retry;
    this.ui.showError(text);
  }

  hideError() {
    this.retryAction = null;
    this.ui.hideError();
  }

  retry() {
    const action = this.retryAction;
    this.hideError();
    if (action) action();
  }
}
