"""The file a command writes for the user (`report --output`, `chargeback --output`), or `-` for
standard output: checked before any work, and written whole with the mode the umask gives (owner-only
unless USAGE_PIPELINE_SHARE_WITH_GROUP), since it holds user emails and per-user cost."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipelines.settings import ConfigError, Settings
from pipelines.warehouse import refuse_unsafe_paths

STDOUT = "-"


def check_output(option: str, output: str, settings: Settings) -> None:
    """Refuse, before any work, an output that is the warehouse or the serving copy (however reached),
    a directory, or in a folder that does not exist (likely a typo: not created behind the user's back)."""
    if output == STDOUT:
        return
    refuse_unsafe_paths({"WAREHOUSE_PATH": settings.warehouse_path,
                         "USAGE_PIPELINE_SERVING_PATH": settings.serving_path, option: output})
    folder = Path(output).parent
    if not folder.is_dir():
        raise ConfigError(f"{option} {output}: the folder {folder} does not exist; create it or write elsewhere")


def write_output(output: str, text: str) -> None:
    """Write `text` to `output`, or to standard output for `-`. A file is written beside, then renamed over:
    a reader never opens half of it, and an `output` that is a symlink is replaced, not followed."""
    if output == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(output)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        staging.write_text(text, encoding="utf-8")
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def output_name(output: str) -> str:
    """The output as a message names it."""
    return "standard output" if output == STDOUT else output
