"""The sources file (TOML): the feeds, pages, OPML files and URL lists a user follows.

```toml
[defaults]                 # optional: applies to every source below
lang = "id"
tags = ["indonesia"]

[[source]]
url = "https://www.antaranews.com/rss/terkini.xml"
name = "Antara"            # the outlet, when the articles name none
lang = "id"
tags = ["wire"]

[[source]]
path = "feeds.opml"        # relative to this file; also a URL list (.txt) or a folder
```
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from digest.errors import ConfigError
from flows.sources.spec import SourceSpec, classify

KNOWN_KEYS = {"url", "path", "name", "lang", "tags"}


class SourcesFileError(ConfigError, ValueError):
    """The sources file cannot be used; the message says where and why, in one line."""

    hint = "fix the sources file (NEWSDIGEST_SOURCES_FILE), see docs/sources.md"


def _tags(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return list(value)
    raise SourcesFileError(f"{where}: tags must be a string or a list of strings")


def _optional_str(entry: dict, key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SourcesFileError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def load_sources_file(path: Path | str) -> list[SourceSpec]:
    """The sources named in a TOML file, in order (duplicates dropped)."""
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesFileError(f"sources file {path} does not exist") from None
    except OSError as exc:
        raise SourcesFileError(f"cannot read sources file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SourcesFileError(f"sources file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SourcesFileError(f"sources file {path} is not valid TOML: {exc}") from None

    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise SourcesFileError(f"{path}: [defaults] must be a table")
    entries = data.get("source", data.get("sources", []))
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SourcesFileError(f"{path}: sources are [[source]] tables")
    if not entries:
        raise SourcesFileError(f"{path}: no [[source]] entries")

    specs: list[SourceSpec] = []
    seen: set[str] = set()
    base = path.resolve().parent
    for n, entry in enumerate(entries, 1):
        where = f"{path} source {n}"
        unknown = set(entry) - KNOWN_KEYS
        if unknown:
            raise SourcesFileError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                f"(use {', '.join(sorted(KNOWN_KEYS))})"
            )
        url = _optional_str(entry, "url", where)
        rel = _optional_str(entry, "path", where)
        if bool(url) == bool(rel):
            raise SourcesFileError(f"{where}: give exactly one of url or path")
        if url:
            spec = classify(url)
            if spec.kind != "url" or not url.lower().startswith(("http://", "https://")):
                raise SourcesFileError(f"{where}: url must start with http:// or https://")
        else:
            target = Path(rel).expanduser()
            spec = classify(str(target if target.is_absolute() else base / target))
        spec.name = _optional_str(entry, "name", where) or _optional_str(defaults, "name", where)
        spec.lang = _optional_str(entry, "lang", where) or _optional_str(defaults, "lang", where)
        spec.tags = list(
            dict.fromkeys(
                [
                    *_tags(defaults.get("tags"), f"{path} [defaults]"),
                    *_tags(entry.get("tags"), where),
                ]
            )
        )
        if spec.key not in seen:
            seen.add(spec.key)
            specs.append(spec)
    return specs
