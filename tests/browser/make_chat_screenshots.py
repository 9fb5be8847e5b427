"""The chat screenshots in docs/ (light and dark), made with the shipped model (models/default)
in Debian's Chromium: `.venv/bin/python -m tests.browser.make_chat_screenshots [--out docs]`.

Not a test (pytest does not collect it): it serves the app on a temporary SQLite database, has a
short conversation (one reply regenerated, so it shows "‹ 2/2 ›") and saves
docs/screenshot-chat.png and docs/screenshot-chat-dark.png.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.make_screenshots import arguments, serving

CONVERSATIONS = [["hi! how are you today?", "what do you like to do on weekends?",
                  "i went hiking with my sister. do you like the outdoors?"],
                 ["can you recommend a good book?"]]


def chat(page, messages: list[str]) -> None:
    page.get_by_role("button", name="New chat").first.click()
    for text in messages:
        count = page.locator(".message.bot").count()
        page.get_by_label("Message", exact=True).fill(text)
        page.keyboard.press("Enter")
        expect(page.locator(".message.bot")).to_have_count(count + 1)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, __doc__.splitlines()[0])
    out = Path(args.out)
    with serving(args.model) as (server, browser):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
        page = context.new_page()
        page.goto(server.url)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        for messages in reversed(CONVERSATIONS):
            chat(page, messages)
        page.locator(".message.bot").last.get_by_role("button", name="Regenerate reply").click()
        expect(page.locator(".message.bot").last.locator(".version-count")).to_have_text("2/2")
        page.locator(".message.bot").last.get_by_role("button", name="Good reply").click()
        page.wait_for_timeout(2600)  # the "Thanks for the feedback" toast fades
        page.get_by_label("Message", exact=True).focus()
        page.screenshot(path=str(out / "screenshot-chat.png"))
        page.evaluate("window.lembraTheme.set('dark')")
        page.screenshot(path=str(out / "screenshot-chat-dark.png"))
        page.evaluate("window.lembraTheme.set('system')")
        context.close()
    print(f"wrote {out / 'screenshot-chat.png'} and {out / 'screenshot-chat-dark.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
