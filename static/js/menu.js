// A menu button (the WAI-ARIA menu button pattern): click or Enter opens it, arrow keys move,
// Escape or a click elsewhere closes it and focus goes back to the button.

export class Menu {
  constructor(button, menu) {
    this.button = button;
    this.menu = menu;
    button.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
    menu.addEventListener("keydown", (event) => this.keydown(event));
    menu.addEventListener("click", (event) => {
      if (event.target.closest('[role="menuitem"]')) this.close(false);
    });
    this.outside = (event) => {
      if (!menu.contains(event.target) && !button.contains(event.target)) this.close(false);
    };
  }

  get isOpen() {
    return !this.menu.hidden;
  }

  items() {
    return [...this.menu.querySelectorAll('[role="menuitem"]')].filter((i) => !i.hidden);
  }

  open() {
    this.menu.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    // Open upwards when the menu would run past the bottom of the window.
    this.menu.classList.remove("up");
    if (this.menu.getBoundingClientRect().bottom > window.innerHeight) this.menu.classList.add("up");
    this.items()[0]?.focus();
    document.addEventListener("pointerdown", this.outside, true);
  }

  close(focusButton = true) {
    if (!this.isOpen) return;
    this.menu.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", this.outside, true);
    if (focusButton) this.button.focus();
  }

  keydown(event) {
    const items = this.items();
    const at = items.indexOf(document.activeElement);
    const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      items[(moves[event.key] + items.length) % items.length]?.focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    } else if (event.key === "Tab") {
      this.close(false);
    }
  }
}
