"""A one-department policy whose allow crosses every pair of its sites (scaling tests)."""

from __future__ import annotations


def one_department(sites: int) -> str:
    """One department at the province and ``sites - 1`` cities, and an allow between its
    horizontal and vertical hosts at every pair of sites."""
    cities = "\n".join(f'    region c{i:02d} "City {i}" city' for i in range(1, sites))
    return f'''network "n" {{
    levels province > city
    horizontal 59.64.0.0/16
    exit prov nat 202.97.10.0/28
    asn 65000
}}
region prov "Province" province {{
{cities}
}}
department tax "Tax" {{
    vertical 10.0.0.0/16 site /24
    horizontal 59.64.16.0/20 site /28
    sites all
}}
policy {{
    allow vertical(D) -> horizontal(D)
    allow horizontal(D) -> vertical(D)
}}
assert "tax reaches its vertical net" {{
    allow horizontal(tax) -> vertical(tax)
}}
'''
