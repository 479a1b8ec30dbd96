"""Sphinx configuration of the pergdro_sklearn documentation.

Build it with ``make docs`` (HTML in ``doc/_build/html``). The build needs no network:
intersphinx is off, so references to scikit-learn, numpy or torch are written as
literals, and the examples gallery runs the scripts of ``examples/`` on local data only.
"""

import os
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "sphinxext"))

# Before torch is imported: the gallery's small networks train fastest on one thread,
# and matplotlib draws off screen.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "agg")
# The gallery's real-data examples read $PERGDRO_DATA_HOME; when it is unset, a
# shared/data folder beside the repository (as the tests use), else the loaders' cache.
_DATA_BESIDE_REPO = Path(__file__).resolve().parents[2] / "shared" / "data"
if not os.environ.get("PERGDRO_DATA_HOME") and _DATA_BESIDE_REPO.is_dir():
    os.environ["PERGDRO_DATA_HOME"] = str(_DATA_BESIDE_REPO)

import pergdro_sklearn  # noqa: E402

project = "pergdro_sklearn"
author = "the pergdro_sklearn developers"
copyright = "the pergdro_sklearn developers"  # noqa: A001
release = pergdro_sklearn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "**/sg_execution_times.rst"]
root_doc = "index"
default_role = "literal"
nitpicky = False

# ---- API reference ------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {}
autodoc_typehints = "none"
# numpydoc renders the parameter tables; methods are listed by the class template.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document a class's own methods and those of the package's mixins only.

    The methods scikit-learn's base classes add (``get_params``, ``set_fit_request``,
    ``score``...) are documented by scikit-learn, whose docstrings link to its own
    user guide; without intersphinx those links cannot resolve.
    """
    if what == "module":
        return None
    if name.startswith("_"):
        return True
    target = getattr(obj, "fget", None) or getattr(obj, "func", None) or obj
    module = getattr(target, "__module__", None) or ""
    return None if module.startswith("pergdro_sklearn") else True


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)


# ---- examples gallery ---------------------------------------------------------------
# Examples run at build time, each with warnings as errors (``gallery_warnings``): an
# example that warns fails, and so does the build.
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "reset_modules": ("matplotlib", "gallery_warnings.warnings_as_errors"),
    "reset_modules_order": "both",
    "download_all_examples": False,
    "plot_gallery": "True",
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "min_reported_time": 1,
    "backreferences_dir": None,
    "write_computation_times": False,
}

warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")

# ---- HTML -------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"pergdro_sklearn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path = []
html_show_sourcelink = False
html_copy_source = False
