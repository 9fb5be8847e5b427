"""One conversation as a Markdown file: a heading, then each turn under the speaker's name.

The JSON download is `schema.conversation_json`; this is the readable one, for notes and mail.
"""

from __future__ import annotations

from collections.abc import Iterable

from chatbot.storage.db import Conversation, Message


def conversation_markdown(conversation: Conversation, messages: Iterable[Message],
                          names: dict[str, str], untitled: str) -> str:
    """`names` maps a role ("user", "bot") to the speaker's name in the visitor's language."""
    lines = [f"# {conversation.title or untitled}", "",
             f"_{conversation.created_at.strftime('%Y-%m-%d %H:%M')} UTC_", ""]
    for message in messages:
        # Each turn is one block quote, so a message of several lines stays under its speaker.
        quoted = "\n".join(f"> {line}" if line else ">" for line in message.text.split("\n"))
        lines += [f"**{names[message.role]}**", "", quoted, ""]
    return "\n".join(lines)
