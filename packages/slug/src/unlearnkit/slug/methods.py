"""Entry point for the shared method registry (``unlearnkit.methods``).

SLUG edits a CLIP model using image-caption pairs and a zero-shot names list; the registry's methods take
a classifier, labelled data sets and a ForgetRequest over class indices. None of SLUG's inputs exist in
that interface, so no MethodSpec is registered (a fake one would only fail at run time): SLUG is used
through ``unlearnkit.slug`` and the ``slug`` CLI instead.
"""

from __future__ import annotations


def register() -> list:
    return []
