""""Why this reply?" in Chromium: the sentence, words by turn, highlights on the bubbles both ways,
the unseen part and the composer's warning, unknown characters, alternatives, confidence and
rerank candidates, the heatmap with a legend that matches it, and the LSTM step-through; in
light and dark, English and Portuguese, and at phone width without horizontal scroll."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_chat import ARTIFACTS, open_chat, screenshot, send

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def context_page(browser):
    """A page in a context of our choosing (theme, language, size); fails on console errors."""
    made = []

    def make(**options):
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 860},
                                         "locale": "en-US", **options})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        made.append((context, errors))
        return page

    yield make
    for context, errors in made:
        context.close()
        assert errors == [], errors


def open_why(page):
    page.locator(".message.bot").last.get_by_role("button", name=re.compile("Why this reply|Por que")).click()
    dialog = page.locator("#explain")
    expect(dialog.locator(".ex-summary")).to_be_visible()
    return dialog


def explanation(page, server):
    message_id = page.locator(".message.bot").last.get_attribute("data-id")
    return page.request.get(f"{server.url}/api/messages/{message_id}/explanation").json()["explanation"]


def no_horizontal_scroll(page):
    widths = page.evaluate("""() => ({
        page: document.documentElement.scrollWidth, view: window.innerWidth,
        panel: document.querySelector('#explain').scrollWidth,
        panelView: document.querySelector('#explain').clientWidth})""")
    assert widths["page"] <= widths["view"], widths
    assert widths["panel"] <= widths["panelView"], widths


def test_words_turns_and_highlights_both_ways(page, server):
    open_chat(page, server)
    send(page, "hello there")
    send(page, "i love cooking pasta on sundays")
    dialog = open_why(page)
    ex = explanation(page, server)
    expect(dialog.locator(".ex-summary")).to_have_text(ex["summary"])
    assert ex["summary"].startswith(("While writing “", "Lembra's attention did not settle"))
    # words, not pieces, with the turns labelled and no separators or "▁" shown
    expect(dialog.locator(".ex-reply-word")).to_have_text([w["text"] for w in ex["words"]["reply"]])
    expect(dialog.locator(".ex-turn-label")).to_have_text(["You", "Lembra", "You"])
    expect(dialog.locator(".ex-turn").last.locator(".ex-text")).to_have_text(
        "i love cooking pasta on sundays".split())
    assert "\u2581" not in dialog.inner_text() and "<sep>" not in dialog.inner_text()

    # a reply word lights the words it used in the conversation's own bubbles
    first = dialog.locator(".ex-reply-word").first
    first.focus()
    expect(first).to_have_attribute("aria-pressed", "true")
    weights = ex["words"]["reply"][0]["attention"]
    top = max(range(len(weights)), key=weights.__getitem__)
    bubble_word = page.locator(f'.messages .bubble-word[data-c="{top}"]')
    expect(bubble_word).to_have_class(re.compile(r"\blit\b"))
    expect(bubble_word).to_have_text(ex["words"]["context"][top]["text"])
    chip = dialog.locator(f'.ex-context-word[data-c="{top}"]')
    shown = re.fullmatch(r".+: (\d+)%", chip.get_attribute("aria-label"))
    assert abs(int(shown.group(1)) - weights[top] * 100) <= 0.51
    # and the reverse: tapping a word in a bubble marks it and shades the reply words that used it
    user_word = page.locator('.message.user .bubble-word[data-c]').last
    c = int(user_word.get_attribute("data-c"))
    user_word.click()
    expect(dialog.locator(f'.ex-context-word[data-c="{c}"]')).to_have_class(re.compile(r"\bfocus\b"))
    column = [w["attention"][c] for w in ex["words"]["reply"]]
    best = max(range(len(column)), key=column.__getitem__)
    shade = dialog.locator(".ex-reply-word").nth(best).evaluate("b => b.style.getPropertyValue('--w')")
    assert float(shade) == pytest.approx(1.0)

    # alternatives for every reply word, and the confidence
    expect(dialog.locator(".ex-alternatives tbody tr")).to_have_count(len(ex["words"]["reply"]))
    # one scale with the admin's pages: the word, and the share on hover
    line = dialog.locator(".ex-confidence")
    words = {"sure": "sure", "fairly_sure": "fairly sure", "unsure": "unsure"}
    expect(line).to_have_text(f"Confidence: {words[ex['confidence_level']]}")
    shown = re.match(r"(\d+)% \(how sure", line.get_attribute("title"))
    assert abs(int(shown.group(1)) - ex["confidence"] * 100) <= 0.51
    screenshot(page, "explanation.png")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator(".bubble-word")).to_have_count(0)  # the bubbles' text is back as it was
    expect(page.locator(".message.user .text").last).to_have_text("i love cooking pasta on sundays")


def test_heatmap_legend_and_lstm_step_through(page, server):
    open_chat(page, server)
    send(page, "do you have any pets?")
    dialog = open_why(page)
    ex = explanation(page, server)
    heatmap = dialog.locator("svg.heatmap")
    expect(heatmap).to_be_hidden()  # under "Show the heatmap"
    dialog.get_by_text("Show the heatmap").click()
    expect(heatmap).to_be_visible()
    seen = sum(w["seen"] for w in ex["words"]["context"])
    expect(heatmap.locator("rect.cell")).to_have_count(len(ex["words"]["reply"]) * seen)
    legend_matches_cells(dialog.locator(".ex-heatmap"))
    # the same numbers as a table
    heat_table = dialog.locator(".ex-heatmap .ex-data")
    heat_table.get_by_text("Show the numbers as a table").click()
    expect(heat_table.locator("tbody tr")).to_have_count(len(ex["words"]["reply"]))

    lstm = dialog.locator(".ex-lstm")
    expect(lstm.locator(".ex-equations")).to_contain_text("c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t")
    steps = len(ex["reply"])
    label = lstm.locator(".ex-step-label")
    expect(label).to_have_text(re.compile(rf"^Step 1 of {steps}: "))
    expect(lstm.get_by_role("button", name="Previous word")).to_be_disabled()
    if steps > 1:
        lstm.get_by_role("button", name="Next word").click()
        expect(label).to_have_text(re.compile(rf"^Step 2 of {steps}: "))
    t = 1 if steps > 1 else 0
    live = ex["units"]["steps"]
    rows = lstm.locator(".ex-live tbody tr")
    expect(rows).to_have_count(len(live["ids"]))
    unit = int(rows.first.locator("th").inner_text())
    k = live["ids"].index(unit)
    cells = rows.first.locator("td").all_inner_texts()
    assert float(cells[0]) == pytest.approx(live["forget"][k][t], abs=0.006)
    assert float(cells[4]) == pytest.approx(live["cell"][k][t + 1], abs=0.006)
    # The sentence names the unit whose cell changed most at this step (the table's first row).
    changed = max(range(len(live["ids"])),
                  key=lambda j: abs(live["cell"][j][t + 1] - live["cell"][j][t]))
    expect(lstm.locator(".ex-meaning")).to_have_text(
        re.compile(rf"^Unit {live['ids'][changed]} changed most: its (forget|input) gate"))
    # a units x steps map per gate, not a mean
    for gate in ("forget", "input", "output"):
        grid = lstm.locator(f'.ex-gate[data-gate="{gate}"] rect.cell')
        expect(grid).to_have_count(len(ex["units"][gate]["ids"]) * steps)


def legend_matches_cells(scope):
    """The legend's "much" end is the colour of a full cell, in whichever theme is on."""
    cell = scope.locator("rect.cell").first.evaluate("c => getComputedStyle(c).fill")
    bar = scope.locator(".ex-legend-bar").evaluate("b => getComputedStyle(b).backgroundImage")
    assert bar.rstrip(")").endswith(cell.rstrip(")")) or cell in bar, (cell, bar)


def test_unknown_unseen_and_the_composer_warning(page, server):
    open_chat(page, server)
    long = " ".join(["we walked along the river and talked about everything"] * 9) + " haha \U0001F602"
    box = page.get_by_label("Message", exact=True)
    note = page.locator("#window-note")
    box.fill("a short message")
    expect(note).to_be_hidden()
    box.fill(long)
    expect(note).to_be_visible()
    expect(note).to_have_text(re.compile(r"longer than Lembra reads: it will only see about the last \d+ "))
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot")).to_have_count(1)
    expect(note).to_be_hidden()
    dialog = open_why(page)
    ex = explanation(page, server)
    unseen = sum(not w["seen"] for w in ex["words"]["context"])
    assert unseen > 0
    expect(dialog.locator(".ex-context-word.unseen")).to_have_count(unseen)
    expect(dialog.locator(".ex-unseen-note")).to_contain_text("never saw them")
    expect(dialog.locator(".ex-summary")).to_contain_text(f"could not see {unseen} words")
    expect(dialog.locator(".ex-unknown")).to_have_text("not understood: \U0001F602")
    expect(page.locator(".message.user .bubble-word.unseen").first).to_be_visible()


def test_an_unlikely_sampled_word_says_it_was_picked_by_chance(page, server):
    open_chat(page, server)
    send(page, "tell me about your weekend")
    real = explanation(page, server)
    first = real["words"]["reply"][0]["pieces"][0]
    chosen = list(real["chosen_p"])
    chosen[first] = 0.02
    body = {"message_id": 0, "exact": True, "explanation": {**real, "sampled": True, "chosen_p": chosen}}
    page.route("**/api/messages/*/explanation", lambda route: route.fulfill(json=body))
    dialog = open_why(page)
    word = real["words"]["reply"][0]["text"]
    expect(dialog.locator(".ex-almost").first).to_have_text(
        f"picked by chance: the model gave “{word}” only 2%")


def test_rerank_candidates_are_listed(page, server):
    open_chat(page, server)  # the page's default mode is Best fit (rerank)
    send(page, "what is your favorite food?")
    dialog = open_why(page)
    ex = explanation(page, server)
    assert ex["candidates"]
    items = dialog.locator(".ex-candidates li")
    expect(items).to_have_count(len(ex["candidates"]))
    chosen = dialog.locator(".ex-candidates li.chosen")
    expect(chosen.locator(".ex-cand-text")).to_have_text(page.locator(".message.bot .text").last.inner_text())
    expect(chosen.locator(".ex-cand-score")).to_contain_text("shown")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_portuguese_both_themes(context_page, server, scheme):
    page = context_page(viewport=PHONE, color_scheme=scheme, locale="pt-BR",
                        extra_http_headers={"Accept-Language": "pt-BR,pt;q=0.9"})
    open_chat(page, server)
    page.get_by_label("Mensagem", exact=True).fill("eu gosto de cozinhar massa aos domingos")
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot")).to_have_count(1)
    dialog = open_why(page)
    ex = explanation(page, server)
    expect(dialog.locator(".ex-summary")).to_have_text(re.compile(r"^(Ao escrever “|A atenção da Lembra)"))
    expect(dialog.locator(".ex-turn-label")).to_have_text(["Você"])
    expect(dialog.get_by_role("heading", name="Por dentro da LSTM")).to_be_visible()
    expect(dialog.locator('.ex-gate[data-gate="forget"] figcaption')).to_have_text(
        re.compile(r"^Porta de esquecimento das \d+ unidades"))
    expect(dialog.locator(".ex-live thead")).to_contain_text("estado da célula")
    expect(dialog.locator(".ex-live thead")).to_contain_text("porta de saída")
    no_horizontal_scroll(page)
    dialog.get_by_text("Mostrar o mapa de calor").click()
    expect(dialog.locator("svg.heatmap")).to_be_visible()
    legend_matches_cells(dialog.locator(".ex-heatmap"))
    no_horizontal_scroll(page)
    # the panel leaves the conversation in view above it, so lit words can be seen
    bubble = page.locator(".message.user .bubble").last.bounding_box()
    panel = dialog.bounding_box()
    assert bubble["y"] + bubble["height"] <= panel["y"] + 1, (bubble, panel)
    assert ex["words"]["context"][0]["turn"] == "you"
    # the lit words' underline stands out on the green bubble (WCAG's 3:1 for graphics)
    ratio = page.locator(".message.user .bubble-word").first.evaluate("""(span) => {
        const rgb = (c) => {
            const d = document.createElement('i'); d.style.color = c; document.body.append(d);
            const v = getComputedStyle(d).color.match(/[\\d.]+/g).slice(0, 3).map(Number);
            d.remove(); return v; };
        const lum = ([r, g, b]) => [r, g, b].map((x) => { x /= 255; return x <= 0.03928 ? x / 12.92
            : ((x + 0.055) / 1.055) ** 2.4; }).reduce((a, x, i) => a + x * [0.2126, 0.7152, 0.0722][i], 0);
        const heat = lum(rgb(getComputedStyle(span).getPropertyValue('--heat').trim()));
        const bubble = lum(rgb(getComputedStyle(span.closest('.bubble')).backgroundColor));
        return (Math.max(heat, bubble) + 0.05) / (Math.min(heat, bubble) + 0.05); }""")
    assert ratio >= 3, ratio
    # table cells break between words only, and the scroll-to-latest arrow stays under the sheet
    assert dialog.locator(".ex-table td").first.evaluate("td => getComputedStyle(td).overflowWrap") == "normal"
    page.evaluate("document.getElementById('scroll-latest').hidden = false")
    assert page.locator("#scroll-latest").evaluate("b => getComputedStyle(b).display") == "none"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"explanation-phone-{scheme}.png"))


def test_admin_transcript_shows_the_same_panel(page, server):
    from chatbot.storage.accounts import set_admin
    from chatbot.web.database import get_session

    with server.app.app_context():
        set_admin(get_session(), "explainer", "a long admin password")
    open_chat(page, server)
    send(page, "i love cooking pasta on sundays")
    conversation_id = page.url.rsplit("/", 1)[1]
    page.goto(server.url + "/admin/login")
    page.get_by_label("Name").fill("explainer")
    page.get_by_label("Password").fill("a long admin password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/admin/login"))
    page.goto(f"{server.url}/admin/transcripts/{conversation_id}")
    page.locator(".turn.bot").last.get_by_role("button", name="Why this reply?").click()
    dialog = page.locator("#explain")
    # The tiny model's sampled reply decides which sentence opens the panel; either is the panel's.
    expect(dialog.locator(".ex-summary")).to_have_text(
        re.compile(r"^(While writing “|Lembra's attention did not settle)"))
    expect(dialog.locator(".ex-turn-label")).to_have_text(["You"])
    dialog.locator(".ex-reply-word").first.focus()
    expect(page.locator(".turn.user .bubble-word")).to_have_count(6)
    expect(page.locator(".turn.user .bubble-word.lit").first).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator(".turn.user .text").last).to_have_text("i love cooking pasta on sundays")


def test_a_refined_reply_shows_its_example_what_it_copied_and_each_drafts_example(page,
                                                                                  refine_server):
    open_chat(page, refine_server)
    send(page, "do you like to cook?")
    dialog = open_why(page)
    ex = explanation(page, refine_server)
    example = dialog.locator(".ex-turn.example")
    expect(example.locator(".ex-turn-label")).to_have_text("Example")
    expect(example.locator(".ex-example-word")).to_have_count(len(ex["example"]["words"]))
    expect(dialog.locator(".ex-origins")).to_be_visible()
    drafts = dialog.locator(".ex-candidates li .ex-cand-example")
    expect(drafts.first).to_contain_text("written from:")
    # Choosing a reply word shades the example's words by that word's attention to them.
    dialog.locator(".ex-reply-word").first.click()
    shades = example.locator(".ex-example-word").evaluate_all(
        "nodes => nodes.map(n => Number(n.style.getPropertyValue('--w')))")
    assert max(shades) > 0


def test_the_borrow_setting_is_sent_with_each_message(page, refine_server):
    open_chat(page, refine_server)
    page.get_by_role("button", name="Settings").click()
    drawer = page.get_by_role("dialog", name="Settings")
    box = drawer.get_by_label("Allow replies taken from the training conversations")
    expect(box).not_to_be_checked()
    box.check()
    drawer.get_by_role("radio", name="Most likely words").check()
    expect(box).to_be_disabled()  # only Best fit can borrow
    drawer.get_by_role("radio", name="Best fit").check()
    page.keyboard.press("Escape")
    send(page, "hi")
    conversation_id = page.url.rsplit("/", 1)[1]
    stored = page.request.get(f"{refine_server.url}/api/conversations/{conversation_id}").json()
    assert stored["messages"][-1]["options"]["borrow"] is True
