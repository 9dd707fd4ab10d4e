"""A person row keeps in clear only the area code, the birth year and the sex.

The clear birth date and last four characters went beside the masked number
(110105********1234), which together were the whole identity number. Now:

- `id_head` is renamed `id_area` (same values);
- `birth_year` is filled from `birth_date`, which is dropped;
- `id_tail_index`, a keyed blind index of the last four, replaces `id_tail` for fragment
  search; filling it needs each number decrypted (the keys come from the settings);
- `id_number_masked` becomes the area and the last two characters (110105**********34).

Reversible: going back decrypts each number again to rebuild the dropped columns and the
old mask. The rows are read in batches by primary key and written with one UPDATE per
batch, so memory stays flat on a district's millions of rows.
"""

from datetime import date
from typing import Any

import django.contrib.postgres.indexes
from django.db import migrations, models

BATCH = 5000


def _batches(cursor: Any, columns: str) -> Any:
    last = 0
    while True:
        cursor.execute(
            f"SELECT id, id_number_enc, {columns} FROM population_person "
            "WHERE id > %s ORDER BY id LIMIT %s",
            [last, BATCH],
        )
        rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def forward(apps: Any, schema_editor: Any) -> None:
    # The application's own helpers, not copies: the tail index and the mask must be
    # exactly what searches and writers produce, under the configured keys.
    from population.protect import id_tail_index, mask_id_number, reveal_id_number

    with schema_editor.connection.cursor() as cursor:
        for rows in _batches(cursor, "birth_date"):
            ids, years, tails, masks = [], [], [], []
            for pk, enc, born in rows:
                number = reveal_id_number(bytes(enc))
                ids.append(pk)
                years.append(born.year)
                tails.append(id_tail_index(number[-4:]))
                masks.append(mask_id_number(number))
            cursor.execute(
                "UPDATE population_person p SET birth_year = v.y, id_tail_index = v.t, "
                "id_number_masked = v.m "
                "FROM unnest(%s::bigint[], %s::int2[], %s::text[], %s::text[]) AS v(id, y, t, m) "
                "WHERE p.id = v.id",
                [ids, years, tails, masks],
            )


def backward(apps: Any, schema_editor: Any) -> None:
    from core import crypto
    from population.protect import reveal_id_number

    with schema_editor.connection.cursor() as cursor:
        for rows in _batches(cursor, "id"):
            ids, dates, tails, masks = [], [], [], []
            for pk, enc, _ in rows:
                number = reveal_id_number(bytes(enc))
                ids.append(pk)
                dates.append(date(int(number[6:10]), int(number[10:12]), int(number[12:14])))
                tails.append(number[-4:])
                masks.append(crypto.mask(number, head=6, tail=4))
            cursor.execute(
                "UPDATE population_person p SET birth_date = v.d, id_tail = v.t, "
                "id_number_masked = v.m "
                "FROM unnest(%s::bigint[], %s::date[], %s::text[], %s::text[]) AS v(id, d, t, m) "
                "WHERE p.id = v.id",
                [ids, dates, tails, masks],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("grids", "0001_initial"),
        ("population", "0004_hash_indexes_for_equality_lookups"),
    ]

    operations = [
        # Nullable while they are filled (and, going back, while the old ones are).
        migrations.AlterField(
            model_name="person",
            name="birth_date",
            field=models.DateField(null=True, verbose_name="出生日期"),
        ),
        migrations.AlterField(
            model_name="person",
            name="id_tail",
            field=models.CharField(max_length=4, null=True),
        ),
        migrations.AddField(
            model_name="person",
            name="birth_year",
            field=models.SmallIntegerField(null=True, verbose_name="出生年份"),
        ),
        migrations.AddField(
            model_name="person",
            name="id_tail_index",
            field=models.CharField(max_length=32, null=True),
        ),
        migrations.RenameField(model_name="person", old_name="id_head", new_name="id_area"),
        migrations.RunPython(forward, backward, elidable=False),
        migrations.AlterField(
            model_name="person",
            name="birth_year",
            field=models.SmallIntegerField(verbose_name="出生年份"),
        ),
        migrations.AlterField(
            model_name="person",
            name="id_tail_index",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="person",
            name="id_area",
            field=models.CharField(max_length=6, verbose_name="身份证地区码"),
        ),
        migrations.RemoveIndex(model_name="person", name="person_id_tail"),
        migrations.RemoveField(model_name="person", name="id_tail"),
        migrations.RemoveField(model_name="person", name="birth_date"),
        migrations.AddIndex(
            model_name="person",
            index=django.contrib.postgres.indexes.HashIndex(
                fields=["id_tail_index"], name="person_id_tail_hash"
            ),
        ),
    ]
