// The admin pages work without script; this only asks before destructive forms are sent.

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

document.body.dataset.ready = "true";
