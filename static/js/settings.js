// The settings drawer: decoding options kept in localStorage, the theme (static/js/theme.js),
// and the interface language (a cookie the server reads, then a reload so every label is
// translated).

const KEY = "lembra.options";
const LANG_COOKIE = "lembra_lang";

export class Settings {
  // modes: chatbot.options.MODE_TABLE as the page's data JSON carries it (which controls apply).
  constructor(dialog, defaults, modes) {
    this.dialog = dialog;
    this.defaults = defaults;
    this.controls = Object.fromEntries(modes.map((mode) => [mode.name, mode.controls]));
    this.modes = [...dialog.querySelectorAll('input[name="mode"]')];
    this.themes = [...dialog.querySelectorAll('input[name="theme"]')];
    this.beam = dialog.querySelector("#opt-beam");
    this.temperature = dialog.querySelector("#opt-temperature");
    this.borrow = dialog.querySelector("#opt-borrow");
    this.language = dialog.querySelector("#opt-language");
    this.apply(this.load());
    for (const input of [...this.modes, this.beam, this.temperature, this.borrow]) {
      input.addEventListener("input", () => this.save());
    }
    const theme = window.lembraTheme?.get() ?? "system";
    for (const input of this.themes) {
      input.checked = input.value === theme;
      input.addEventListener("change", () => window.lembraTheme?.set(input.value));
    }
    dialog.querySelector("#opt-reset").addEventListener("click", () => {
      this.apply(this.defaults);
      this.save();
    });
    this.language.addEventListener("change", () => this.setLanguage(this.language.value));
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close(); // a click on the backdrop
    });
  }

  get mode() {
    return this.modes.find((input) => input.checked)?.value ?? this.defaults.mode;
  }

  open() {
    this.dialog.showModal();
    (this.modes.find((input) => input.checked) ?? this.modes[0]).focus();
  }

  load() {
    try {
      return { ...this.defaults, ...JSON.parse(localStorage.getItem(KEY) || "{}") };
    } catch {
      return { ...this.defaults };
    }
  }

  apply(options) {
    const known = this.modes.some((input) => input.value === options.mode);
    const mode = known ? options.mode : this.defaults.mode;
    for (const input of this.modes) input.checked = input.value === mode;
    this.beam.value = options.beam_width;
    this.temperature.value = options.temperature;
    this.borrow.checked = Boolean(options.borrow);
    this.showValues();
  }

  showValues() {
    this.dialog.querySelector("#opt-beam-value").textContent = this.beam.value;
    this.dialog.querySelector("#opt-temperature-value").textContent =
      Number(this.temperature.value).toFixed(2);
    const applies = this.controls[this.mode] ?? [];
    this.beam.disabled = !applies.includes("beam_width");
    this.temperature.disabled = !applies.includes("temperature");
    this.borrow.disabled = !applies.includes("borrow");
  }

  save() {
    this.showValues();
    localStorage.setItem(KEY, JSON.stringify(this.options()));
  }

  // What the API gets with each message.
  options() {
    return {
      mode: this.mode,
      beam_width: Number(this.beam.value),
      temperature: Number(this.temperature.value),
      borrow: this.borrow.checked,
    };
  }

  setLanguage(code) {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${LANG_COOKIE}=${code}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
    location.reload();
  }
}
