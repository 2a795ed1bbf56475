"""Entry point for the shared bench (``unlearnkit.methods``).

LMEraser registers no bench method on purpose. The bench hands a method a trained *classifier* and asks
for an unlearned copy of it; LMEraser is a different kind of model (a frozen public backbone plus one
prompt and head per cluster of private data) that is unlearnable only because it was *trained* that way.
Applied to a bench classifier it would amount to "retrain a new prompt-tuned model", i.e. neither an
unlearning of that classifier nor comparable with the approximate methods. Use the ``lmeraser`` CLI, or
``unlearnkit.lmeraser.engine.train``/``erase``, instead.
"""

from __future__ import annotations


def register() -> list:
    return []
