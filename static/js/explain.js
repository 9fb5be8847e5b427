// "Why this reply?": the attention heatmap (reply tokens x the visitor's tokens) and the LSTM
// gate activity per generated token, drawn as SVG built with DOM calls (no HTML strings).

import { api } from "./api.js";
import { el, svg } from "./dom.js";

const CELL = 22;
const CHAR_W = 7.5;
const GATES = [["input", "gateInput"], ["forget", "gateForget"], ["output", "gateOutput"]];

// SentencePiece marks a word start with "▁"; the turn separator is shown as a bar.
function label(piece) {
  if (piece === "<sep>") return "|";
  return piece.replace(/\u2581/g, "") || "\u2581";
}

export class ExplainPanel {
  constructor(dialog, strings) {
    this.dialog = dialog;
    this.content = dialog.querySelector("#explain-content");
    this.strings = strings;
    dialog.querySelector("#explain-close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
  }

  async open(message) {
    this.content.replaceChildren(el("p", { className: "muted", text: this.strings.loading }));
    this.dialog.showModal();
    try {
      const data = await api.explanation(message.id);
      this.render(data);
    } catch (err) {
      this.content.replaceChildren(el("p", {
        className: "inline-error", role: "alert", text: `${this.strings.explainFailed} ${err.message}`,
      }));
    }
  }

  render({ explanation, exact }) {
    const parts = [];
    if (!exact) parts.push(el("p", { className: "note", text: this.strings.inexact }));
    const { source, reply, attention, gates } = explanation;
    parts.push(el("h3", { text: this.strings.attentionTitle }));
    if (attention && attention.length && source.length) {
      parts.push(el("p", { className: "muted small", text: this.strings.heatmapLabel }));
      const map = heatmap(source, reply, attention, this.strings);
      parts.push(el("div", { className: "chart-scroll" }, [map]));
    } else {
      parts.push(el("p", { className: "muted", text: this.strings.noAttention }));
    }
    parts.push(el("h3", { text: this.strings.gatesTitle }));
    const figures = GATES.map(([name, key]) => {
      const line = this.strings[key];
      return el("figure", { className: "gate" }, [
        el("figcaption", { text: line }),
        el("div", { className: "chart-scroll" }, [gateChart(gates?.[name] ?? [], reply, line)]),
      ]);
    });
    parts.push(el("div", { className: "gates" }, figures));
    this.content.replaceChildren(...parts);
  }
}

export function heatmap(source, reply, attention, strings) {
  const left = Math.ceil(Math.max(...reply.map((p) => label(p).length), 3) * CHAR_W) + 12;
  const top = Math.ceil(Math.max(...source.map((p) => label(p).length), 3) * CHAR_W * 0.75) + 16;
  const width = left + source.length * CELL;
  const height = top + reply.length * CELL;
  const peak = Math.max(1e-6, ...attention.flat());
  const root = svg("svg", {
    class: "heatmap", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "img", "aria-label": strings.heatmapLabel,
  });
  source.forEach((piece, j) => {
    const x = left + j * CELL + CELL / 2;
    const text = svg("text", {
      x, y: top - 6, class: "axis-label", transform: `rotate(-55 ${x} ${top - 6})`,
    });
    text.textContent = label(piece);
    root.append(text);
  });
  reply.forEach((piece, i) => {
    const y = top + i * CELL;
    const text = svg("text", { x: left - 6, y: y + CELL * 0.68, class: "axis-label row-label" });
    text.textContent = label(piece);
    root.append(text);
    (attention[i] ?? []).forEach((weight, j) => {
      const cell = svg("rect", {
        x: left + j * CELL, y, width: CELL - 1, height: CELL - 1, class: "cell",
        "fill-opacity": (0.04 + 0.96 * (weight / peak)).toFixed(3),
        "data-weight": weight,
      });
      const title = svg("title");
      title.textContent = `${label(piece)} ← ${label(source[j])}: ${weight.toFixed(3)}`;
      cell.append(title);
      root.append(cell);
    });
  });
  return root;
}

export function gateChart(series, reply, description) {
  const barW = Math.max(CELL, 14);
  const chartH = 60;
  const left = 26;
  const bottom = 34;
  const width = left + Math.max(series.length, 1) * barW + 4;
  const height = chartH + bottom + 8;
  const root = svg("svg", {
    class: "gate-chart", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "img", "aria-label": description,
  });
  for (const [value, y] of [[1, 8], [0, 8 + chartH]]) {
    const tick = svg("text", { x: left - 4, y: y + 4, class: "axis-label row-label" });
    tick.textContent = String(value);
    root.append(tick, svg("line", { x1: left, x2: width, y1: y, y2: y, class: "grid" }));
  }
  series.forEach((value, i) => {
    const h = Math.max(0, Math.min(1, value)) * chartH;
    const x = left + i * barW;
    const bar = svg("rect", { x: x + 2, y: 8 + chartH - h, width: barW - 4, height: h, class: "bar" });
    const title = svg("title");
    title.textContent = `${label(reply[i] ?? "")}: ${value.toFixed(3)}`;
    bar.append(title);
    const tick = svg("text", {
      x: x + barW / 2, y: 8 + chartH + 12, class: "axis-label",
      transform: `rotate(-45 ${x + barW / 2} ${8 + chartH + 12})`,
    });
    tick.textContent = label(reply[i] ?? "");
    root.append(bar, tick);
  });
  return root;
}
