"""`zongheng show`: the address plan and the compiled devices as tables (rich) or rows."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from zongheng.compiler.model import Network


def address_rows(network: Network) -> list[dict]:
    """One row per allocated block and host, in model order (JSON form of --addresses)."""
    rows = [
        {"owner": b.owner, "realm": b.realm, "region": b.region, "prefix": b.prefix,
         "kind": "site", "explicit": b.explicit}
        for b in network.blocks
    ]
    for h in network.hosts:
        rows.append({"owner": h.owner, "realm": h.realm, "region": h.region,
                     "prefix": f"{h.address}/32", "kind": f"host {h.name}",
                     "explicit": True, "static_nat": [list(x) for x in h.static_nat]})
    for c in network.classes:
        if c.kind == "private":
            rows.append({"owner": c.owner, "realm": "private", "region": c.region,
                         "prefix": c.prefixes[0], "kind": "private net", "explicit": True})
    return rows


def _console() -> Console:
    return Console(width=120, soft_wrap=False)


def print_addresses(network: Network) -> None:
    table = Table(title=f"Address plan: {network.display_name or network.name}")
    for col in ("owner", "realm", "region", "prefix", "what"):
        table.add_column(col)
    for r in address_rows(network):
        what = r["kind"] + (" (explicit)" if r["kind"] == "site" and r["explicit"] else "")
        if r.get("static_nat"):
            what += " nat " + ", ".join(f"{d}={a}" for d, a in r["static_nat"])
        table.add_row(r["owner"], r["realm"], r["region"], r["prefix"], what)
    _console().print(table)


def print_devices(network: Network) -> None:
    table = Table(title="Compiled devices")
    for col in ("device", "role", "region", "loopback", "VRFs (imports)", "ACL lines"):
        table.add_column(col)
    for d in network.devices:
        vrfs = "\n".join(f"{v.name} ({', '.join(v.rt_import) or '-'})" for v in d.vrfs) or "-"
        lines = sum(len(a.lines) for a in d.acls)
        table.add_row(d.name, d.role, d.region or "-", d.loopback, vrfs, str(lines))
    _console().print(table)
