"""bench.hostile finds the query parameters to attack in the app's own source."""

from bench.hostile import KIND_VALUES, query_parameters


def test_every_admin_filter_and_paging_parameter_is_found_with_its_kind():
    found = query_parameters()
    for key in ("after", "page", "limit", "days", "min", "max", "below"):
        assert found[key] == "number", key
    assert found["from"] == found["to"] == "date"
    assert {"q", "format", "next", "support", "sort", "visitor"} <= set(found)
    assert all(kind == "text" or kind in KIND_VALUES for kind in found.values())


def test_a_parameter_a_view_starts_reading_is_found_without_editing_the_bench(tmp_path):
    views = tmp_path / "chatbot" / "web"
    views.mkdir(parents=True)
    (views / "new.py").write_text(
        "def view():\n"
        "    n = request.args.get('fresh_count', 3, type=int)\n"
        "    when = _parse_date(args.get('fresh_since'), [], 'fresh_since')\n"
        "    pair = [int_arg(k, 0) for k in ('lo', 'hi')]\n"
        "    return request.args.get('label')\n")
    assert query_parameters(tmp_path) == {"fresh_count": "number", "fresh_since": "date",
                                          "lo": "number", "hi": "number", "label": "text"}
