// "Why this reply?": a sentence first, then the reply's words and the conversation's words they
// came from (also lit up in the conversation's own bubbles), what else the model could have
// written, the full heatmap on request, and a step-through of the LSTM's gates. Every chart has a
// table with the same numbers. Built with DOM calls only: no text ever becomes HTML.
//
// `new ExplainPanel(dialog, strings, { load, messages })`: `load(id)` fetches the explanation
// (the visitor's API by default), `messages` is the list holding the conversation's bubbles.

import { api } from "./api.js";
import { el, format, svg } from "./dom.js";
import { BubbleWords } from "./explain-bubbles.js";

const GATES = [["forget", "exForget"], ["input", "exInput"], ["output", "exOutput"]];
const SHOWN_PERCENT = 0.05; // context words under this share show no number beside them
const ALMOST = 0.15; // "it almost wrote" only for an alternative at least this likely
const CHANCE = 0.1; // a sampled word the model gave less than this was picked by chance
const CELL = 24;

const pct = (p) => String(Math.round(p * 100));
const num = (v) => (v >= 0 ? " " : "") + v.toFixed(2);
const fmt = (template, values) => format(template, values).replace(/%%/g, "%");

export class ExplainPanel {
  constructor(dialog, strings, { load = api.explanation, messages = null } = {}) {
    this.dialog = dialog;
    this.content = dialog.querySelector("#explain-content");
    this.strings = strings;
    this.load = load;
    this.bubbles = new BubbleWords(messages ?? document.querySelector("#messages"));
    dialog.querySelector("#explain-close").addEventListener("click", () => this.close());
    // Escape closes it from anywhere, also while a word in the conversation has the focus.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.dialog.open && !event.defaultPrevented) {
        event.preventDefault();
        this.close();
      }
    });
    dialog.addEventListener("close", () => this.bubbles.restore());
  }

  // Not modal: the conversation stays visible (and its words clickable) beside the panel.
  async open(message) {
    this.opener = document.activeElement;
    this.bubbles.restore();
    this.content.replaceChildren(el("p", { className: "muted", text: this.strings.loading }));
    if (!this.dialog.open) this.dialog.show();
    this.dialog.querySelector("#explain-close").focus();
    try {
      const data = await this.load(message.id);
      this.render(data, message.id);
    } catch (err) {
      this.content.replaceChildren(el("p", {
        className: "inline-error", role: "alert", text: `${this.strings.explainFailed} ${err.message}`,
      }));
    }
  }

  close() {
    if (!this.dialog.open) return;
    this.dialog.close();
    if (this.opener?.isConnected) this.opener.focus();
  }

  render({ explanation, exact }, messageId) {
    const s = this.strings;
    const ex = explanation;
    const parts = [];
    if (!exact) parts.push(el("p", { className: "note", text: s.inexact }));
    parts.push(el("p", { className: "ex-summary", text: ex.summary ?? "" }));
    if (ex.words) {
      this.view = new WordsView(ex, s, this.bubbles, messageId);
      parts.push(this.view.node, alternativesSection(ex, s));
      if (ex.candidates?.length) parts.push(candidatesSection(ex.candidates, s));
      parts.push(heatmapSection(ex, s), lstmSection(ex, s));
    }
    this.content.replaceChildren(...parts);
  }
}

// -- words: the reply's words and the conversation's words they used ---------------------------

class WordsView {
  constructor(ex, s, bubbles, messageId) {
    this.ex = ex;
    this.s = s;
    this.bubbles = bubbles;
    this.context = ex.words.context;
    this.reply = ex.words.reply;
    this.replyButtons = this.reply.map((word, r) => el("button", {
      type: "button", className: "ex-word ex-reply-word", text: word.text, "aria-pressed": "false",
      dataset: { r }, onclick: () => this.selectReply(r, true),
      onmouseenter: () => this.selectReply(r), onfocus: () => this.selectReply(r),
    }));
    this.contextNodes = this.context.map((word, c) => this.contextWord(word, c));
    const turns = [];
    this.context.forEach((word, c) => {
      if (!turns.length || turns.at(-1).index !== word.turn_index) {
        turns.push({ index: word.turn_index, turn: word.turn, nodes: [] });
      }
      turns.at(-1).nodes.push(this.contextNodes[c]);
    });
    const turnNodes = turns.map((t) => el("div", { className: `ex-turn ${t.turn}` }, [
      el("span", { className: "ex-turn-label", text: t.turn === "you" ? s.exYou : s.exLembra }),
      el("span", { className: "ex-turn-words" }, t.nodes),
    ]));
    const unseen = this.context.some((w) => !w.seen);
    // A retrieve-and-refine reply: the example it was written from, shaded like the context.
    this.example = ex.example ?? null;
    this.exampleNodes = (this.example?.words ?? []).map((word) => el("span", {
      className: `ex-word ex-example-word${word.seen ? "" : " unseen"}`,
    }, [el("span", { className: "ex-text", text: word.text }), el("small", { className: "ex-share" })]));
    const exampleTurn = this.example ? el("div", { className: "ex-turn example" }, [
      el("span", { className: "ex-turn-label", text: s.exExample }),
      el("span", { className: "ex-turn-words" }, this.exampleNodes),
    ]) : "";
    this.node = el("section", { className: "ex-words", "aria-labelledby": "ex-words-title" }, [
      el("h3", { id: "ex-words-title", text: s.exWordsTitle }),
      el("p", { className: "muted small", text: s.exWordsHint }),
      el("div", { className: "ex-reply", role: "group", "aria-label": s.bot }, this.replyButtons),
      originsLine(ex, s),
      this.example ? el("p", { className: "muted small", text: s.exExampleHint }) : "",
      exampleTurn,
      el("div", { className: "ex-context" }, turnNodes),
      unseen ? el("p", { className: "muted small ex-unseen-note", text: fmt(s.exUnseen, { n: ex.window }) }) : "",
    ]);
    this.bubbles.attach(messageId, this.context, {
      enter: (c) => this.selectContext(c), leave: () => this.selectReply(this.current ?? 0),
    });
    this.selectReply(this.strongestReplyWord());
  }

  contextWord(word, c) {
    const children = [el("span", { className: "ex-text", text: word.text })];
    if (word.unknown) {
      children.push(el("span", { className: "ex-unknown", text: fmt(this.s.exUnknown, { chars: word.unknown }) }));
    }
    children.push(el("small", { className: "ex-share" }));
    return el("button", {
      type: "button", className: `ex-word ex-context-word${word.seen ? "" : " unseen"}`,
      dataset: { c }, disabled: !word.seen,
      onclick: () => this.selectContext(c), onmouseenter: () => this.selectContext(c),
      onfocus: () => this.selectContext(c), onmouseleave: () => this.selectReply(this.current ?? 0),
    }, children);
  }

  strongestReplyWord() {
    let best = 0;
    this.reply.forEach((w, r) => {
      if (Math.max(0, ...w.attention) > Math.max(0, ...this.reply[best].attention)) best = r;
    });
    return best;
  }

  // A reply word chosen: each context word shows how much of its attention it got.
  selectReply(r, announce = false) {
    if (!this.reply.length) return;
    this.current = r;
    const weights = this.reply[r].attention;
    const fromExample = this.example?.attention?.[r] ?? [];
    const peak = Math.max(1e-6, ...weights, ...fromExample);
    this.replyButtons.forEach((b, i) => {
      b.setAttribute("aria-pressed", String(i === r));
      b.style.removeProperty("--w");
    });
    this.contextNodes.forEach((node, c) => this.shade(node, weights[c] ?? 0, peak));
    this.exampleNodes.forEach((node, e) => this.shade(node, fromExample[e] ?? 0, peak));
    this.bubbles.shade(weights, peak);
    if (announce) this.replyButtons[r].focus();
  }

  // A context word chosen: each reply word shows how much it used that word.
  selectContext(c) {
    const column = this.reply.map((w) => w.attention[c] ?? 0);
    const peak = Math.max(1e-6, ...column);
    this.replyButtons.forEach((b, r) => {
      b.setAttribute("aria-pressed", "false");
      b.style.setProperty("--w", (column[r] / peak).toFixed(3));
    });
    this.contextNodes.forEach((node, i) => node.classList.toggle("focus", i === c));
    this.bubbles.focus(c);
  }

  shade(node, weight, peak) {
    node.classList.remove("focus");
    node.style.setProperty("--w", (weight / peak).toFixed(3));
    node.querySelector(".ex-share").textContent = weight >= SHOWN_PERCENT ? `${pct(weight)}%` : "";
    const text = node.querySelector(".ex-text").textContent;
    node.setAttribute("aria-label", `${text}: ${pct(weight)}%`);
  }
}

// Which reply words the copy gate took from what the model read, and which it wrote itself.
function originsLine(ex, s) {
  if (!ex.origins?.length) return "";
  const groups = { example: [], you: [], lembra: [] };
  ex.origins.forEach((o, r) => groups[o.origin]?.push(ex.words.reply[r].text));
  const parts = Object.entries(groups).filter(([, words]) => words.length)
    .map(([origin, words]) => fmt(s[`exCopied_${origin}`], { words: words.join(", ") }));
  return el("p", { className: "ex-origins small", text: parts.length ? parts.join(" · ") : s.exAllWritten });
}

// -- alternatives, confidence, candidates ------------------------------------------------------

function alternativesSection(ex, s) {
  const rows = ex.words.reply.map((word, r) => {
    const first = word.pieces[0];
    const options = ex.alternatives[first] ?? [];
    const wrote = ex.chosen_p?.[first] ?? 0;
    const other = options.find((o) => o.end || o.text !== word.text && !word.text.startsWith(o.text));
    const previous = r > 0 ? ex.words.reply[r - 1].text : null;
    let line = "";
    if (ex.sampled && wrote < CHANCE) {
      line = fmt(s.exByChance, { word: word.text, p: pct(wrote) });
    } else if (other && other.p >= ALMOST) {
      const alt = other.end ? s.exEnd : other.text;
      line = previous === null
        ? fmt(s.exAtStart, { alt, p: pct(other.p) })
        : fmt(s.exAfter, { word: previous, alt, p: pct(other.p) });
    }
    return el("tr", {}, [
      el("th", { scope: "row", text: word.text }),
      el("td", { text: `${pct(wrote)}%` }),
      el("td", { text: options.map((o) => `${o.end ? s.exEnd : o.text} ${pct(o.p)}%`).join(" · ") }),
      el("td", { className: "ex-almost", text: line }),
    ]);
  });
  return el("section", { className: "ex-alternatives", "aria-labelledby": "ex-alt-title" }, [
    el("h3", { id: "ex-alt-title", text: s.exAltTitle }),
    confidenceLine(ex, s),
    el("div", { className: "ex-table-wrap" }, [el("table", { className: "ex-table" }, [
      el("thead", {}, [el("tr", {}, [
        el("th", { scope: "col", text: s.exReplyWord }),
        el("th", { scope: "col", text: s.exWroteP ?? "p" }),
        el("th", { scope: "col", text: s.exAltTitle }),
        el("th", { scope: "col", text: "" }),
      ])]),
      el("tbody", {}, rows),
    ])]),
  ]);
}

// One scale with the admin's pages: a word, the share on hover (chatbot/confidence.py).
function confidenceLine(ex, s) {
  const level = s[`exLevel_${ex.confidence_level}`] ?? pct(ex.confidence ?? 0) + "%";
  const hint = fmt(s.exConfidenceHint, { p: pct(ex.confidence ?? 0) });
  return el("p", { className: "ex-confidence", title: hint, "data-share": String(ex.confidence ?? ""),
                   text: fmt(s.exConfidence, { level }) }, []);
}

const FIT_WORDS = { well: "exFitWell", somewhat: "exFitSomewhat", poorly: "exFitPoorly" };

function candidatesSection(candidates, s) {
  return el("section", { className: "ex-candidates", "aria-labelledby": "ex-cand-title" }, [
    el("h3", { id: "ex-cand-title", text: s.exCandidatesTitle }),
    el("p", { className: "muted small", text: s.exCandidatesHint }),
    el("ol", {}, candidates.map((c) => el("li", { className: c.chosen ? "chosen" : "" }, [
      el("span", { className: "ex-cand-text", text: c.text }),
      el("span", {
        className: "ex-cand-score",
        text: `${c.fit_label ? `${s[FIT_WORDS[c.fit_label]]} · ` : ""}`
          + `${s.exScore} ${c.score.toFixed(1)}${c.chosen ? ` · ${s.exChosen}` : ""}`
          + `${c.finished ? "" : ` · ${s.exUnfinished}`}${c.cheerful ? ` · ${s.exCheerful}` : ""}`
          + `${c.repeats ? ` · ${s.exRepeats}` : ""}`,
        title: c.fit == null ? "" : `${s.exFit} ${c.fit.toFixed(2)}`,
      }),
      c.exemplar ? el("small", { className: "ex-cand-example", text: fmt(s.exDraftFrom, { text: c.exemplar }) }) : "",
    ]))),
  ]);
}

// -- the full heatmap and its table ------------------------------------------------------------

function heatmapSection(ex, s) {
  const columns = ex.words.context.map((w, c) => ({ ...w, c })).filter((w) => w.seen);
  const rows = ex.words.reply;
  const values = rows.map((w) => columns.map((col) => w.attention[col.c] ?? 0));
  const chart = grid(values, rows.map((w) => w.text), columns.map((w) => w.text), s.exHeatmapLabel, "heatmap");
  return el("details", { className: "ex-heatmap" }, [
    el("summary", { text: s.exShowHeatmap }),
    el("p", { className: "muted small", text: s.exHeatmapLabel }),
    legend(s),
    chart,
    table(values, rows.map((w) => w.text), columns.map((w) => w.text), s.exReplyWord, (v) => `${pct(v)}%`, s),
  ]);
}

function legend(s) {
  return el("div", { className: "ex-legend", "aria-hidden": "true" }, [
    el("span", { text: s.exLegendLow }), el("span", { className: "ex-legend-bar" }),
    el("span", { text: s.exLegendHigh }),
  ]);
}

// rows x columns of values in [0, 1] as cells whose opacity is the value over the row maximum
// (attention) or the value itself (gates); the SVG scales to its box, so it never scrolls.
function grid(values, rowLabels, colLabels, label, kind) {
  const chars = (labels) => Math.max(3, ...labels.map((t) => [...t].length));
  const left = Math.min(14, chars(rowLabels)) * 7 + 10;
  const top = Math.min(14, chars(colLabels)) * 5.5 + 14;
  const width = left + colLabels.length * CELL + 36; // room for the last rotated label
  const height = top + rowLabels.length * CELL;
  const peak = kind === "heatmap" ? Math.max(1e-6, ...values.flat()) : 1;
  const root = svg("svg", {
    class: `ex-grid ${kind}`, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label,
  });
  root.style.maxWidth = `${width}px`; // CSSOM, which the CSP allows (a style attribute it does not)
  const short = (t) => ([...t].length > 14 ? `${[...t].slice(0, 13).join("")}…` : t);
  colLabels.forEach((text, j) => {
    const x = left + j * CELL + CELL / 2;
    const node = svg("text", { x, y: top - 6, class: "axis-label", transform: `rotate(-50 ${x} ${top - 6})` });
    node.textContent = short(text);
    root.append(node);
  });
  rowLabels.forEach((text, i) => {
    const y = top + i * CELL;
    const node = svg("text", { x: left - 6, y: y + CELL * 0.66, class: "axis-label row-label" });
    node.textContent = short(text);
    root.append(node);
    values[i].forEach((v, j) => {
      root.append(svg("rect", {
        x: left + j * CELL, y, width: CELL - 2, height: CELL - 2, rx: 3, class: "cell",
        "fill-opacity": (0.03 + 0.97 * Math.max(0, Math.min(1, v / peak))).toFixed(3),
        "data-value": v,
      }));
    });
  });
  return root;
}

function table(values, rowLabels, colLabels, corner, show, s) {
  return el("details", { className: "ex-data" }, [
    el("summary", { text: s.exTable }),
    el("div", { className: "ex-table-wrap" }, [el("table", { className: "ex-table" }, [
      el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: corner }),
        ...colLabels.map((t) => el("th", { scope: "col", text: t }))])]),
      el("tbody", {}, values.map((row, i) => el("tr", {}, [
        el("th", { scope: "row", text: rowLabels[i] }), ...row.map((v) => el("td", { text: show(v) })),
      ]))),
    ])]),
  ]);
}

// -- inside the LSTM ---------------------------------------------------------------------------

const EQUATIONS = [
  ["f", "f_t = σ(W_f·[h_{t-1}, x_t] + b_f)"],
  ["i", "i_t = σ(W_i·[h_{t-1}, x_t] + b_i)"],
  ["g", "c̃_t = tanh(W_c·[h_{t-1}, x_t] + b_c)"],
  ["c", "c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t"],
  ["o", "o_t = σ(W_o·[h_{t-1}, x_t] + b_o)"],
  ["h", "h_t = o_t ⊙ tanh(c_t)"],
];

function lstmSection(ex, s) {
  const steps = ex.units.steps;
  const words = ex.reply.map((p) => p.replace(/\u2581/g, " ").trim() || "\u2423");
  const status = el("p", { className: "ex-step-label", "aria-live": "polite" });
  const body = el("div", { className: "ex-step" });
  let t = 0;
  const prev = el("button", { type: "button", className: "btn", text: `← ${s.exPrev}`, onclick: () => show(t - 1) });
  const next = el("button", { type: "button", className: "btn", text: `${s.exNext} →`, onclick: () => show(t + 1) });
  function show(step) {
    t = Math.max(0, Math.min(words.length - 1, step));
    prev.disabled = t === 0;
    next.disabled = t === words.length - 1;
    status.textContent = fmt(s.exStep, { n: t + 1, total: words.length, word: words[t] });
    body.replaceChildren(stepTable(steps, t, s), el("p", { className: "ex-meaning", text: meaning(steps, t, s) }));
  }
  show(0);
  const maps = GATES.map(([gate, key]) => {
    const shown = ex.units[gate];
    const rows = shown.ids.map((u) => `${s.exUnit} ${u}`);
    const name = s[key][0].toUpperCase() + s[key].slice(1);
    const label = fmt(s.exGateMapLabel, { gate: name, n: shown.ids.length });
    return el("figure", { className: "ex-gate", dataset: { gate } }, [
      el("figcaption", { text: label }),
      grid(shown.values, rows, words, label, `gate-map ${gate}`),
      table(shown.values, rows, words, s.exUnit, (v) => v.toFixed(2), s),
    ]);
  });
  return el("section", { className: "ex-lstm", "aria-labelledby": "ex-lstm-title" }, [
    el("h3", { id: "ex-lstm-title", text: s.exLstmTitle }),
    el("p", { className: "muted small", text: s.exLstmIntro }),
    el("ol", { className: "ex-equations" }, EQUATIONS.map(([k, eq]) => el("li", { dataset: { k } }, [el("code", { text: eq })]))),
    el("div", { className: "ex-stepper" }, [prev, status, next]),
    body,
    legend({ exLegendLow: "0", exLegendHigh: "1" }),
    el("div", { className: "ex-gates" }, maps),
  ]);
}

// The live numbers at step t for the units whose cell changed most there.
function stepTable(steps, t, s) {
  const order = steps.ids.map((u, k) => k)
    .sort((a, b) => Math.abs(steps.cell[b][t + 1] - steps.cell[b][t]) - Math.abs(steps.cell[a][t + 1] - steps.cell[a][t]));
  const cols = [
    ["f_t", s.exForget, (k) => steps.forget[k][t]],
    ["i_t", s.exInput, (k) => steps.input[k][t]],
    ["c̃_t", s.exCandidate, (k) => steps.candidate[k][t]],
    ["c_{t-1}", s.exCell, (k) => steps.cell[k][t]],
    ["c_t", s.exCell, (k) => steps.cell[k][t + 1]],
    ["o_t", s.exOutput, (k) => steps.output[k][t]],
    ["h_t", s.exHidden, (k) => steps.hidden[k][t]],
  ];
  return el("div", { className: "ex-table-wrap" }, [el("table", { className: "ex-table ex-live" }, [
    el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: s.exUnit }),
      ...cols.map(([sym, name]) => el("th", { scope: "col", title: name }, [
        el("span", { text: sym }), el("span", { className: "visually-hidden", text: ` (${name})` }),
      ]))])]),
    el("tbody", {}, order.map((k) => el("tr", {}, [
      el("th", { scope: "row", text: String(steps.ids[k]) }),
      ...cols.map(([, , get]) => el("td", { text: num(get(k)) })),
    ]))),
  ])]);
}

// One sentence on what changed at step t, about the unit whose cell changed most there: whether
// forgetting (c_{t-1} - f_t c_{t-1}) or writing (i_t c̃_t) moved it more.
function meaning(steps, t, s) {
  const ks = steps.ids.map((u, k) => k);
  const change = (k) => Math.abs(steps.cell[k][t + 1] - steps.cell[k][t]);
  const unit = ks.reduce((a, b) => (change(b) > change(a) ? b : a));
  const values = {
    unit: steps.ids[unit], f: steps.forget[unit][t].toFixed(2), i: steps.input[unit][t].toFixed(2),
    g: steps.candidate[unit][t].toFixed(2), before: steps.cell[unit][t].toFixed(2),
    after: steps.cell[unit][t + 1].toFixed(2),
  };
  const forgotten = Math.abs(steps.cell[unit][t] * (1 - steps.forget[unit][t]));
  const written = Math.abs(steps.input[unit][t] * steps.candidate[unit][t]);
  return fmt(forgotten > written ? s.exForgetDrop : s.exWrite, values);
}
