"""Hugging Face libraries (extras of the sd / llava families) set up for a command-line tool."""

from __future__ import annotations


def quiet_hf() -> None:
    """transformers / diffusers print a progress bar per load and save: noise in a CLI's JSON output."""
    import importlib

    for lib in ("transformers", "diffusers"):
        try:
            logging = importlib.import_module(f"{lib}.utils.logging")
        except ImportError:
            continue
        logging.set_verbosity_error()
        logging.disable_progress_bar()
