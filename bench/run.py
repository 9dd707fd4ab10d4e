"""`make bench`: run every benchmark, print a table, write bench/results/latest.json.

`python -m bench.run intake sla` runs only those (their entries replace theirs in the file)."""

import os
import sys

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chaoyang.settings.local")
    # Figures of the production mode: DEBUG would log every query and slow each one down.
    os.environ.setdefault("DEBUG", "false")
    django.setup()
    from bench import cases, common, fixtures, intake, locate, population_import, sla, tiles

    before = common.previous()
    entries = []
    # Generated cases from an interrupted run would skew every figure: start clean, and
    # leave the database as it was found. cases (50,000 open) runs before sla, which tops
    # the same rows up to 100,000 and then changes their lights.
    if not fixtures.purge_generated():  # a purge vacuums; otherwise vacuum what the demo left
        fixtures.vacuum_cases()
    modules = (locate, tiles, intake, cases, sla, population_import)
    chosen = [m for m in modules if not sys.argv[1:] or m.__name__.split(".")[-1] in sys.argv]
    try:
        for module in chosen:
            print(f"· {module.__name__} …", flush=True)
            entries += module.run()
    finally:
        removed = fixtures.purge_generated()
        print(f"· removed {removed} generated cases", flush=True)
    common.write(entries, keep_others=len(chosen) < len(modules))
    print()
    common.print_table(entries, before)
    print(f"\nwritten to {common.RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
