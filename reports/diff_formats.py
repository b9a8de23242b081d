"""Renderers of ``diff`` results: text for people, JSON for CI gates."""

from __future__ import annotations

import json

from zongheng.verifier.diff import DiffResult


def to_json(res: DiffResult) -> str:
    data = {
        "old": res.old, "new": res.new,
        "added_classes": res.added_classes, "removed_classes": res.removed_classes,
        "opened": [c.to_dict() for c in res.opened],
        "closed": [c.to_dict() for c in res.closed],
        "undecided": res.undecided,
        "summary": {"opened": len(res.opened), "closed": len(res.closed),
                    "undecided": len(res.undecided), "class_pairs": res.pairs,
                    "pairs_solved": res.solved_pairs},
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def to_text(res: DiffResult) -> str:
    lines = [f"diff {res.old} -> {res.new}"]
    if res.added_classes:
        lines.append("added classes: " + ", ".join(res.added_classes))
    if res.removed_classes:
        lines.append("removed classes: " + ", ".join(res.removed_classes))
    for title, changes in (("opened", res.opened), ("closed", res.closed)):
        lines.append(f"{title}:" + ("" if changes else " none"))
        for c in changes:
            svc = f" [{', '.join(c.services)}]" if c.services else ""
            flows = " ".join(fl.text() for fl in c.flows) or "(protocols undecided)"
            lines.append(f"  {c.src_class} -> {c.dst_class}: {flows}{svc}; "
                         f"e.g. {c.example.text()}")
            if c.rule or c.other_side:
                side = "old" if title == "opened" else "new"
                lines.append(f"      rule: {c.rule or '(none)'}; {side}: {c.other_side}")
    if res.undecided:
        lines.append("undecided (solver gave no answer in time):")
        lines += [f"  {u}" for u in res.undecided]
    lines.append(f"{len(res.opened)} opened, {len(res.closed)} closed"
                 + (f", {len(res.undecided)} undecided" if res.undecided else "")
                 + f" ({res.solved_pairs} of {res.pairs} class pairs needed the solver)")
    return "\n".join(lines) + "\n"
