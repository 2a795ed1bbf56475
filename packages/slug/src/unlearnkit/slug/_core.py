"""The shared-core helpers this package uses, gathered in one place (one import line per module)."""

from __future__ import annotations

from unlearnkit.shared.cli_utils import echo_json, make_app, run_app
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import append_jsonl, atomic_write_bytes, check_writable, load_json, save_json
from unlearnkit.shared.outputs import plan_outputs, staged_folder

__all__ = ["UnlearnkitError", "atomic_write_bytes", "check_writable", "save_json", "load_json", "make_app",
           "run_app", "append_jsonl", "echo_json", "plan_outputs", "staged_folder"]
