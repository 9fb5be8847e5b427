"""bench.support prints precision and recall per class, held out and in sample."""

import json

from bench.support import main


def test_prints_both_sets_and_the_sad_note_share(capsys):
    assert main(["--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for part in ("held_out", "in_sample"):
        assert set(result[part]["classes"]) == {"ordinary", "sad", "crisis"}
        assert sum(result[part]["confusion"]["crisis"].values()) == result[part]["classes"]["crisis"]["n"]
    assert 0.0 <= result["sad_messages"]["note_share"] <= 1.0
