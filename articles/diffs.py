"""Line diffs between two versions of an article, for the admin's history and conflict pages."""

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "remove", "context" or "hunk"
    text: str


@dataclass(frozen=True)
class FieldDiff:
    field: str
    lines: list[DiffLine]

    @property
    def changed(self) -> bool:
        return any(line.kind in {"add", "remove"} for line in self.lines)


def diff_texts(old: dict[str, str], new: dict[str, str], *, old_label: str, new_label: str) -> list[FieldDiff]:
    result = []
    for field in old:
        lines = []
        for line in difflib.unified_diff(
            (old[field] or "").splitlines(),
            (new.get(field) or "").splitlines(),
            fromfile=old_label,
            tofile=new_label,
            lineterm="",
            n=2,
        ):
            if line.startswith(("---", "+++")):
                continue
            kind = {"@": "hunk", "+": "add", "-": "remove"}.get(line[:1], "context")
            lines.append(DiffLine(kind=kind, text=line[1:] if kind != "hunk" else line))
        result.append(FieldDiff(field=field, lines=lines))
    return result


def diff_revisions(old, new) -> list[FieldDiff]:
    def fields(revision):
        return {
            "Title": revision.title,
            "Summary": revision.summary,
            "Body": revision.body,
            "Status": revision.get_status_display(),
        }

    return diff_texts(fields(old), fields(new), old_label=f"version {old.version}", new_label=f"version {new.version}")
