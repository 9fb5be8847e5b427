"""`make run`'s first step: the bundle to serve is printed alone on stdout."""

from train.ensure_model import main


def test_an_existing_bundle_is_served_as_it_is(tiny_bundle, monkeypatch, capsys):
    monkeypatch.setenv("LEMBRA_MODEL_DIR", str(tiny_bundle))
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(tiny_bundle)
    assert "serving the model bundle" in err
