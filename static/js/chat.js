// The chat controller: which conversation is open, sending, retrying and regenerating.
// The URL is /c/<id> for an open conversation, so a reload comes back to it. While a reply is
// pending the visitor may type the next message; only sending waits.

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
        this.showError(`${this.strings.loadFailed} ${this.why(err)}`, () => this.open(id, { push }));
      }
    }
  }

  show(id, messages, title) {
    this.conversationId = id;
    this.messages.render(messages);
    this.ui.setTitle(title || this.strings.untitled);
    this.ui.setEmpty(messages.length === 0);
    this.sidebar.setActive(id);
    this.ui.setConversation(id);
  }

  // What went wrong, in words for people: the server's sentence only for a refused value.
  why(err) {
    if (err.status === 0) return this.strings.networkError;
    if (err.status === 429) return this.strings.rateLimited;
    if (err.status === 503 || err.status >= 500) return this.strings.serverDown;
    return err.message;
  }

  async send(text) {
    this.hideError();
    this.setWaiting(true);
    const pending = { id: "pending", role: "user", text };
    this.messages.append(pending, { force: true });
    this.ui.setEmpty(false);
    this.composer.clear();
    try {
      if (this.conversationId === null) {
        const conversation = await api.createConversation();
        this.conversationId = conversation.id;
        history.pushState({ id: conversation.id }, "", `/c/${conversation.id}`);
        this.ui.setConversation(conversation.id);
      }
      const data = await api.postMessage(this.conversationId, text, this.settings.options());
      this.messages.replace("pending", data.user);
      this.messages.append(data.reply);
      this.setWaiting(false);
      const title = await this.refreshSidebar();
      if (title) this.ui.setTitle(title);
    } catch (err) {
      this.setWaiting(false);
      this.failedSend(err, text);
    }
  }

  // The visitor's last message, edited: stored, then answered again.
  async edit(message, text) {
    this.hideError();
    this.setWaiting(true);
    try {
      const data = await api.editMessage(message.id, text, this.settings.options());
      this.messages.replace(message.id, data.user);
      if (data.replaced) this.messages.replace(data.replaced, data.reply);
      else this.messages.append(data.reply);
      const title = await this.refreshSidebar();
      if (title) this.ui.setTitle(title);
    } catch (err) {
      if (err.body?.user) {
        // The new wording is stored and the old reply is hidden with the old wording; only the
        // answer is missing, so retry asks for one.
        this.messages.replace(message.id, err.body.user);
        if (err.body.replaced) this.messages.find(err.body.replaced)?.remove();
        this.showError(`${this.strings.replyFailed} ${this.why(err)}`, () => this.regenerate(null));
      } else {
        this.showError(`${this.strings.replyFailed} ${this.why(err)}`, () => this.edit(message, text));
      }
    } finally {
      this.setWaiting(false);
    }
  }

  failedSend(err, text) {
    if (err.body?.user) {
      // The message is stored; only the reply is missing. Retry asks for a reply to it.
      this.messages.replace("pending", err.body.user);
      this.refreshSidebar();
      this.showError(`${this.strings.replyFailed} ${this.why(err)}`, () => this.regenerate(null));
      return;
    }
    this.messages.list.querySelector('[data-id="pending"]')?.remove();
    this.ui.setEmpty(this.messages.empty);
    // The text goes back into the box, unless the visitor has typed something new meanwhile.
    if (!this.composer.input.value.trim()) {
      this.composer.input.value = text;
      this.composer.update();
    }
    this.showError(`${this.strings.sendFailed} ${this.why(err)}`, () => this.send(text));
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
      this.showError(`${this.strings.replyFailed} ${this.why(err)}`, () => this.regenerate(message));
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

  async rename(title) {
    const conversation = await api.renameConversation(this.conversationId, title);
    this.ui.setTitle(conversation.title);
    await this.refreshSidebar();
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
