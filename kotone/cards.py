"""CLI: python -m kotone.cards --list  -> the catalog as JSON lines (id, slot, name, profile)."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kotone.cards")
    ap.add_argument("--list", action="store_true", help="print every card as a JSON line")
    ap.add_argument("--slot", help="only this slot")
    ap.add_argument("--full", action="store_true", help="include every field")
    args = ap.parse_args(argv)
    from kotone.assets import load_catalog
    from kotone.domain.errors import KotoneError

    try:
        catalog = load_catalog()
        cards = catalog.by_slot(args.slot) if args.slot else list(catalog)
    except KotoneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.list:
        ap.print_help()
        return 0
    for c in cards:
        row = c.model_dump(mode="json") if args.full else {
            "id": c.id, "slot": c.slot, "name": c.name, "profile": c.profile.as_dict(),
            "tier": c.tier, "price": c.price, "tags": c.tags,
        }
        print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
