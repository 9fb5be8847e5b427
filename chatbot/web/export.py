"""One conversation as a Markdown file: a heading, then each turn under the speaker's name.

The JSON download is `schema.conversation_json`; this is the readable one, for notes and mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chatbot.storage.db import Conversation, Message

INLINE = re.compile(r"([\\`*_\[\]|~])")  # Markdown that could make a link, emphasis or code
LINE_START = re.compile(r"^(\s*)([#+\-=])")  # a heading, list item or rule
NUMBERED = re.compile(r"^(\s*\d+)([.)])")  # a numbered list item


def escaped(line: str) -> str:
    """One line of visitor or bot text that renders as the same characters, never as HTML, a
    link, emphasis or a heading."""
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    line = INLINE.sub(r"\\\1", line)
    line = LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line)
    return NUMBERED.sub(lambda m: m.group(1) + "\\" + m.group(2), line)


def conversation_markdown(conversation: Conversation, messages: Iterable[Message],
                          names: dict[str, str], untitled: str) -> str:
    """`names` maps a role ("user", "bot") to the speaker's name in the visitor's language."""
    title = " ".join((conversation.title or untitled).split())
    lines = [f"# {escaped(title)}", "",
             f"_{conversation.created_at.strftime('%Y-%m-%d %H:%M')} UTC_", ""]
    for message in messages:
        # Each turn is one block quote, so a message of several lines stays under its speaker;
        # every kind of line break counts (a lone \r would otherwise start an unquoted line).
        quoted = "\n".join(f"> {escaped(line)}" if line.strip() else ">"
                            for line in message.text.splitlines() or [""])
        lines += [f"**{names[message.role]}**", "", quoted, ""]
    return "\n".join(lines)
