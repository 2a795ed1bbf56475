"""LAION-style downloads: a thin wrapper over img2dataset (url + caption table -> webdataset shards).

img2dataset does the real work (resizing, retries, per-shard *_stats.json); this module only validates
input, fixes the options SLUG relies on (webdataset output, jpg + txt + json members) and summarises the
stats files so a failed URL shows up as a count, not an exception.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ._core import UnlearnkitError

EXTRA = "unlearnkit-slug[download]"
INPUT_FORMATS = {".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".txt": "txt"}


@dataclass
class DownloadReport:
    output: Path
    shards: list[Path]
    successes: int
    failures: int
    total: int


def summarize_stats(output: str | Path) -> tuple[int, int, int]:
    """(successes, failures, total) summed over img2dataset's ``*_stats.json`` files."""
    succ = fail = tot = 0
    for f in sorted(Path(output).glob("*_stats.json")):
        s = json.loads(f.read_text())
        succ += int(s.get("successes", 0))
        fail += int(s.get("failed_to_download", 0)) + int(s.get("failed_to_resize", 0))
        tot += int(s.get("count", 0))
    return succ, fail, tot


def _img2dataset():
    """img2dataset's ``download``; an optional extra because it pulls pandas, pyarrow, opencv and wandb."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations otherwise checks the network
    try:
        from img2dataset import download as i2d
    except ImportError as exc:
        if exc.name == "img2dataset":
            raise UnlearnkitError(f"slug data download needs img2dataset: pip install '{EXTRA}'") from exc
        raise UnlearnkitError(f"img2dataset cannot be imported ({exc}); reinstall it: pip install '{EXTRA}'") from exc
    return i2d


def download(url_list: str | Path, output: str | Path, *, url_col: str = "url", caption_col: str = "caption",
             image_size: int = 256, processes: int = 1, threads: int = 4, samples_per_shard: int = 10000,
             timeout: int = 10, retries: int = 0, overwrite: bool = False) -> DownloadReport:
    url_list, output = Path(url_list), Path(output)
    if not url_list.is_file():
        raise UnlearnkitError(f"url list {url_list} not found")
    fmt = INPUT_FORMATS.get(url_list.suffix.lower())
    if fmt is None:
        raise UnlearnkitError(f"url list must be one of {sorted(INPUT_FORMATS)}, got {url_list.name}")
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise UnlearnkitError(f"{output} is not empty; pass --overwrite to download into it")
    i2d = _img2dataset()
    try:
        i2d(url_list=str(url_list), output_folder=str(output), input_format=fmt, url_col=url_col,
            caption_col=caption_col, output_format="webdataset", image_size=image_size, resize_mode="border",
            processes_count=processes, thread_count=threads, number_sample_per_shard=samples_per_shard,
            timeout=timeout, retries=retries, save_additional_columns=None, enable_wandb=False,
            distributor="multiprocessing", incremental_mode="overwrite" if overwrite else "incremental")
    except KeyError as exc:
        raise UnlearnkitError(f"column {exc} not in {url_list.name} (set --url-col / --caption-col)") from exc
    succ, fail, tot = summarize_stats(output)
    return DownloadReport(output, sorted(output.glob("*.tar")), succ, fail, tot)
