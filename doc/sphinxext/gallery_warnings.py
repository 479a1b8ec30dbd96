"""Run every gallery example with warnings as errors.

sphinx-gallery calls :func:`warnings_as_errors` before and after each example
(``reset_modules_order="both"``). Before, it turns every warning into an exception, so
an example that warns (a ``ConvergenceWarning`` from too few epochs, say) fails and,
with ``abort_on_example_error``, fails the build. After, it restores the filters that
Sphinx had, so Sphinx's own warnings keep their handling.
"""

import warnings

_saved_filters = []


def warnings_as_errors(gallery_conf, fname, when):
    """Turn warnings into errors while the example ``fname`` runs."""
    if fname is None:  # entering a folder of examples
        return
    if when == "before":
        _saved_filters.append(list(warnings.filters))
        warnings.simplefilter("error")
    elif _saved_filters:
        warnings.filters[:] = _saved_filters.pop()
        # tell the C module's filter cache that the list changed (private, 3.10-3.12)
        getattr(warnings, "_filters_mutated", lambda: None)()
