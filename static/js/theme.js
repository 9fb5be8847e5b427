// Light, dark or the system's choice, applied before the first paint (a classic script in
// <head>, so no flash of the other theme); the settings drawer changes it through
// window.lembraTheme.
(() => {
  const KEY = "lembra.theme";
  const apply = (theme) => {
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
  };
  let saved = "system";
  try {
    saved = localStorage.getItem(KEY) || "system";
  } catch {
    // storage blocked: follow the system
  }
  apply(saved);
  window.lembraTheme = {
    get: () => document.documentElement.dataset.theme || "system",
    set(theme) {
      apply(theme);
      try {
        localStorage.setItem(KEY, theme);
      } catch {
        // storage blocked: the choice lasts for this page only
      }
    },
  };
})();
