"""The chat page: the modes, defaults and limits it gets from the server in its data JSON."""

import json
import re

from chatbot.options import MODES, page_defaults
from chatbot.storage.db import TITLE_CHARS
from chatbot.web.schema import COMMENT_CHARS


def page_data(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="lembra-data">(.*?)</script>', html, re.S)
    return json.loads(block.group(1))


def test_the_settings_radios_and_the_data_come_from_the_mode_table(app):
    html = app.test_client().get("/").get_data(as_text=True)
    data = page_data(html)
    assert re.findall(r'<input type="radio" name="mode" value="(\w+)"', html) == list(MODES)
    assert [m["name"] for m in data["modes"]] == list(MODES)
    rerank = data["modes"][0]
    assert rerank["label"] == "Best fit" and rerank["controls"] == ["temperature", "borrow"]
    assert rerank["stochastic"] and not data["modes"][1]["stochastic"]
    assert data["defaults"] == page_defaults()


def test_mode_labels_are_in_the_visitors_language(app):
    client = app.test_client()
    client.set_cookie("lembra_lang", "pt")
    html = client.get("/").get_data(as_text=True)
    assert page_data(html)["modes"][0]["label"] == "Melhor resposta"
    assert '<span id="mode-rerank">Melhor resposta</span>' in html


def test_the_page_gets_the_limits_the_server_enforces(make_app):
    html = make_app(MAX_MESSAGE_CHARS=123).test_client().get("/").get_data(as_text=True)
    assert page_data(html)["limits"] == {"message": 123, "comment": COMMENT_CHARS, "title": TITLE_CHARS}
    assert "maxlength" not in html  # it counts UTF-16 units; the scripts count characters
