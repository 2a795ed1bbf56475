"""LAION-style downloads: a thin wrapper over img2dataset (url + caption table -> webdataset shards).

img2dataset does the real work (resizing, retries, per-shard *_stats.json); this module makes it safe on
untrusted url lists and user folders:

- the table is read and checked before any work (readable, url/caption columns present), and only
  http(s) URLs reach img2dataset: ``file://``, ``ftp://``, ``data:`` and other rows are dropped and counted
  (a list with no http(s) row is refused in one line);
- img2dataset writes into a fresh temporary folder that is merged into ``--out`` at the end
  (``staged_folder``): an existing user folder is never handed to img2dataset, whose own overwrite mode
  deletes the folder's other files;
- the core's decompression-bomb limit applies to the downloads too (OpenCV's pixel limit in img2dataset's
  workers), and every image written is decoded once more by the core's helper; failures are counted.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from unlearnkit.shared.data.images import MAX_IMAGE_PIXELS
from unlearnkit.shared.data.shards import ShardStats, iter_images
from unlearnkit.shared.outputs import plan_outputs, staged_folder

from ._core import UnlearnkitError

INPUT_FORMATS = {".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".txt": "txt"}
ALLOWED_SCHEMES = ("http", "https")


@dataclass
class DownloadReport:
    output: Path
    shards: list[Path]
    successes: int
    failures: int
    total: int
    rejected_urls: int = 0  # rows whose URL is not http(s): never downloaded
    corrupt: int = 0  # images in the written shards that the core's decode check refused
    stats: ShardStats = field(default_factory=ShardStats)

    def summary(self) -> str:
        text = (f"{self.successes} of {self.total} downloaded ({self.failures} failed) into {len(self.shards)} "
                f"shard(s) in {self.output}")
        if self.rejected_urls:
            text += f"; rejected {self.rejected_urls} non-http(s) URL row(s)"
        if self.stats.skipped():
            text += f"; {self.stats.summary()} in the written shards"
        return text


def limit_opencv_pixels(max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """Give OpenCV (img2dataset's decoder) the core's pixel limit; a lower limit set by the user stays.

    OpenCV reads ``OPENCV_IO_MAX_IMAGE_PIXELS`` once, when it is loaded: img2dataset's spawned workers load
    it afresh, and this module sets it on import too, before anything here imports img2dataset.
    """
    current = os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", "")
    if not current.isdigit() or int(current) > max_pixels:
        os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] = str(max_pixels)


limit_opencv_pixels()


def summarize_stats(output: str | Path) -> tuple[int, int, int]:
    """(successes, failures, total) summed over img2dataset's ``*_stats.json`` files."""
    succ = fail = tot = 0
    for f in sorted(Path(output).glob("*_stats.json")):
        s = json.loads(f.read_text())
        succ += int(s.get("successes", 0))
        fail += int(s.get("failed_to_download", 0)) + int(s.get("failed_to_resize", 0))
        tot += int(s.get("count", 0))
    return succ, fail, tot


def _read_table(url_list: Path, fmt: str, url_col: str, caption_col: str):
    """The url list as a DataFrame, with its columns checked; one line for anything unreadable."""
    import pandas as pd

    try:
        if fmt == "parquet":
            df = pd.read_parquet(url_list)
        elif fmt == "txt":
            df = pd.DataFrame({url_col: [ln.strip() for ln in url_list.read_text(encoding="utf-8").splitlines()
                                         if ln.strip()]})
        else:
            df = pd.read_csv(url_list, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas/pyarrow raise many types on a broken file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnlearnkitError(f"cannot read url list {url_list.name} as {fmt}: {first}") from None
    need = [url_col] + ([caption_col] if fmt != "txt" else [])
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise UnlearnkitError(f"column(s) {', '.join(map(repr, missing))} not in {url_list.name} (it has "
                              f"{', '.join(map(str, df.columns)) or 'none'}; set --url-col / --caption-col)")
    if df.empty:
        raise UnlearnkitError(f"url list {url_list.name} has no rows")
    return df


def is_allowed_url(url: object) -> bool:
    """http(s) with a host: the only URLs img2dataset may fetch (``file://`` would read local files)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ALLOWED_SCHEMES and bool(parts.netloc)


def check_url_list(url_list: str | Path, url_col: str = "url", caption_col: str = "caption"):
    """(format, DataFrame of the http(s) rows, number of rejected rows); raises when nothing is left."""
    url_list = Path(url_list)
    if not url_list.is_file():
        raise UnlearnkitError(f"url list {url_list} not found")
    fmt = INPUT_FORMATS.get(url_list.suffix.lower())
    if fmt is None:
        raise UnlearnkitError(f"url list must be one of {sorted(INPUT_FORMATS)}, got {url_list.name}")
    df = _read_table(url_list, fmt, url_col, caption_col)
    ok = df[url_col].map(is_allowed_url)
    kept = df[ok]
    if kept.empty:
        raise UnlearnkitError(f"no http(s) URL in {url_list.name} ({len(df)} row(s) rejected: only http:// and "
                              "https:// are downloaded)")
    return fmt, kept, int((~ok).sum())


def _check_numbers(**values: int) -> None:
    for name, value in values.items():
        low = 0 if name == "retries" else 1
        if not isinstance(value, int) or value < low:
            raise UnlearnkitError(f"{name.replace('_', ' ')} must be an integer >= {low}, got {value!r}")


def download(url_list: str | Path, output: str | Path, *, url_col: str = "url", caption_col: str = "caption",
             image_size: int = 256, processes: int = 1, threads: int = 4, samples_per_shard: int = 10000,
             timeout: int = 10, retries: int = 0, overwrite: bool = False,
             max_pixels: int = MAX_IMAGE_PIXELS) -> DownloadReport:
    """Download the http(s) rows of ``url_list`` into webdataset shards in ``output`` (merged, never emptied)."""
    url_list, output = Path(url_list), Path(output)
    _check_numbers(image_size=image_size, processes=processes, threads=threads,
                   samples_per_shard=samples_per_shard, timeout=timeout, retries=retries)
    plan_outputs(folders={"--out": output}, inputs={"URL_LIST": url_list}, overwrite=overwrite)
    fmt, table, rejected = check_url_list(url_list, url_col, caption_col)
    limit_opencv_pixels(max_pixels)  # img2dataset's workers decode with OpenCV
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations otherwise checks the network
    from img2dataset import download as i2d

    stats = ShardStats()
    with tempfile.TemporaryDirectory(prefix="slug-urls-") as work, staged_folder(output) as tmp:
        clean = Path(work) / "urls.parquet"  # only the checked rows; the user's file is never rewritten
        table.to_parquet(clean, index=False)
        try:
            i2d(url_list=str(clean), output_folder=str(tmp), input_format="parquet", url_col=url_col,
                caption_col=caption_col if fmt != "txt" else None, output_format="webdataset",
                image_size=image_size, resize_mode="border", processes_count=processes, thread_count=threads,
                number_sample_per_shard=samples_per_shard, timeout=timeout, retries=retries,
                save_additional_columns=None, enable_wandb=False, distributor="multiprocessing",
                incremental_mode="incremental")
        except KeyError as exc:
            raise UnlearnkitError(f"column {exc} not in {url_list.name} (set --url-col / --caption-col)") from exc
        shards = sorted(tmp.glob("*.tar"))
        if shards:
            for _ in iter_images(shards, stats, max_pixels=max_pixels):
                pass  # the written images, decoded once by the core's helper: failures are counted
        succ, fail, tot = summarize_stats(tmp)
        names = [p.name for p in shards]
    return DownloadReport(output, [output / n for n in names], succ, fail, tot, rejected_urls=rejected,
                          corrupt=stats.corrupt_images, stats=stats)
