"""The Python examples of README.rst run as written."""

import re
from pathlib import Path

import pytest
import sklearn

README = Path(__file__).resolve().parent.parent / "README.rst"


def _python_blocks():
    text = README.read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    return [re.sub(r"^    ", "", block, flags=re.M) for block in blocks]


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_example_runs(index, capsys):
    code = _python_blocks()[index]
    with sklearn.config_context():
        exec(compile(code, f"README.rst block {index}", "exec"), {"__name__": "readme"})
    sklearn.set_config(enable_metadata_routing=False)


def test_readme_has_examples():
    assert len(_python_blocks()) >= 1
