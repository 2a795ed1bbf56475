"""The bench's default hyper-parameters per data set: ``<data>.json`` maps method -> request kind -> params.

The values were chosen by ``unlearnkit tune`` (see ``bench.tune``), which never looks at a retrained model;
the file records the rule and the command that produced them. ``--param method.key=value`` overrides them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@cache
def load_presets(data: str) -> dict:
    path = HERE / f"{data}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text()).get("methods", {})


def preset_params(data: str, method: str, kind: str) -> dict:
    """The tuned parameters of ``method`` for ``kind`` requests on ``data`` ({} when none were tuned)."""
    return dict(load_presets(data).get(method, {}).get(kind, {}))
