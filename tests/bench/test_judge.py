"""bench.judge: blind items and their key, and the scores read back from a grader's file."""

import csv
import json

from bench.judge import main, prompts


def test_write_shuffles_every_system_together_and_score_reads_the_grades(tiny_bundle, tmp_path,
                                                                         capsys):
    out = tmp_path / "judging"
    assert main(["write", "--system", f"tiny={tiny_bundle}@greedy",
                 "--system", f"retrieval=retrieval:{tiny_bundle}", "--out", str(out),
                 "--limit", "12"]) == 0
    items = list(csv.reader((out / "items.tsv").read_text().splitlines(), delimiter="\t"))
    key = {row[0]: row[1]
           for row in csv.reader((out / "key.tsv").read_text().splitlines(), delimiter="\t")}
    assert len(items) == 2 * len(prompts(12)) == 2 * 24 == len(key)
    assert all(len(row) == 3 for row in items)  # id, prompt, reply: nothing names the system
    assert [key[row[0]] for row in items] != ["tiny"] * 24 + ["retrieval"] * 24  # shuffled
    with open(out / "grades.tsv", "w") as f:
        for row in items:
            f.write(f"{row[0]}\t{2 if key[row[0]] == 'retrieval' else 0}\tG\n")
    with open(out / "grades_second.tsv", "w") as f:
        f.writelines(f"{row[0]}\t2\t\n" for row in items[:10])
    capsys.readouterr()
    assert main(["score", "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["retrieval/all"]["sensible"] == 1.0 and result["tiny/all"]["sensible"] == 0.0
    assert result["tiny/single"]["flags"] == {"G": result["tiny/single"]["n"]}
    assert result["graded_twice"] == 10 and 0.0 <= result["agreement"] <= 1.0


def test_a_system_without_a_bundle_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["write", "--system", "nothing", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("judge: error:")


def test_a_probe_is_recalled_only_by_the_detail_as_whole_words():
    from bench.judge import recalls

    assert recalls("your name is Ana, right?", "ana")
    assert recalls("you have 2 cats", "two|2") and recalls("ice cream!", "ice cream")
    assert not recalls("banana bread", "ana") and not recalls("i don't know", "chicago")


def test_probes_and_sad_read_the_chosen_set(tiny_bundle, tmp_path, capsys):
    (tmp_path / "memory_probes.tsv").write_text("my name is ana\twhat's my name?\tana\n"
                                                "i live in lisbon\twhere do i live?\tlisbon\n")
    (tmp_path / "sad_messages.txt").write_text("my dog died today\n")
    assert main(["probes", "--system", f"tiny={tiny_bundle}@greedy", "--set", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["probes"] == 2 and len(result["tiny"]["answers"]) == 2
    assert result["tiny"]["recalled_share"] == sum(a["recalled"] for a in result["tiny"]["answers"]) / 2
    assert main(["sad", "--system", f"tiny={tiny_bundle}@greedy", "--set", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["messages"] == 1
