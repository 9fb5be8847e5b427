// Small DOM builders. Text is always set with textContent: nothing a person or the bot wrote
// ever becomes HTML.

const SVG_NS = "http://www.w3.org/2000/svg";
const ICONS = new URL("../img/icons.svg", import.meta.url).pathname;

export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  setProps(node, props);
  for (const child of children) node.append(child);
  return node;
}

export function svg(tag, attrs = {}, children = []) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child);
  return node;
}

function setProps(node, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

// An icon from static/img/icons.svg, hidden from screen readers (buttons carry aria-labels).
export function icon(name) {
  const use = svg("use", { href: `${ICONS}#${name}` });
  return svg("svg", { class: "icon", "aria-hidden": "true", viewBox: "0 0 24 24" }, [use]);
}

// Caps a text box at `max` characters as the server counts them (code points: an emoji is one);
// the maxlength attribute counts UTF-16 units, so it would stop a text with emoji too early.
export function limitChars(input, max) {
  input.dataset.maxChars = String(max);
  input.addEventListener("input", () => {
    const chars = [...input.value];
    if (chars.length > max) input.value = chars.slice(0, max).join("");
  });
  return input;
}

// "%(n)s characters left" -> "12 characters left"
export function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}
