"""`make bench`: run every benchmark, print a table, write bench/results/latest.json."""

import os
import sys

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chaoyang.settings.local")
    django.setup()
    from bench import common, locate, tiles

    before = common.previous()
    entries = []
    for module in (locate, tiles):
        print(f"· {module.__name__} …", flush=True)
        entries += module.run()
    common.write(entries)
    print()
    common.print_table(entries, before)
    print(f"\nwritten to {common.RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
