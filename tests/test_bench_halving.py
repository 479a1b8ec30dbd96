"""``benchmarks.halving`` runs end to end on a tiny budget and reports both searches."""

from benchmarks import _common, halving


def test_halving_benchmark_reports_full_and_halved_searches(tmp_path, monkeypatch):
    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    path = halving.main(["--seeds", "2", "--scenarios", "appendix_e", "--epochs", "3",
                         "--jobs", "1", "--output", "halving_smoke"])
    assert path == tmp_path / "halving_smoke.md"
    text = path.read_text()
    assert "## appendix_e" in text
    rows = [line for line in text.splitlines() if line.startswith("| full")
            or line.startswith("| halving")]
    assert len(rows) == 2
    # the full search trains every candidate for every epoch: 16 x 3
    assert rows[0].split("|")[5].strip() == "48"
    assert "Same pick with and without halving" in text
