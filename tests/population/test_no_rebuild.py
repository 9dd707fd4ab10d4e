"""Nothing a normal user can open rebuilds an identity number or a phone.

A street leader (sees the street's people, may not reveal) opens every population page
they can: the search lists of persons, housing and organisations (every page of them, and
fragment searches), each person and organisation page, the grid, community and street
profiles and their building layer, and the masked exports. Everything shown about each
person is gathered together (every masked number, age, sex), and an onlooker's count of
the numbers consistent with it all must stay at or above MIN_CANDIDATES. No page shows
a full number, a phone, or a person's birth date. After a reveal with a reason, by a user
who may, the number and birth date appear, and so does the audit row.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from grids.scope import scope_for_user
from population.demo import seed_population
from population.models import Organisation, Person, RevealAudit
from population.protect import reveal_id_number, reveal_phone
from population.selectors import persons_visible
from population.validators import birth_date_of
from tests.factories import (
    client_for,
    demo_grids,
    id_number,
    organisation_in,
    person_in,
    run_seed_demo,
)
from tests.population.rebuild import MIN_CANDIDATES, candidates, candidates_by_brute_force

pytestmark = pytest.mark.django_db

STREET = "110105001"
MASKED_ID = re.compile(r"\d{6}\*+[\dX]*")
PERSON_LINK = re.compile(r'href="/population/persons/(\d+)/"')
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
TAG = re.compile(r"<[^>]+>")


def test_the_counter_agrees_with_brute_force_and_sees_the_old_leak() -> None:
    """The onlooker's count is right, and it fails the old storage: the birth date beside
    110105********9287 (as the issue saw it) leaves exactly one number, the person's."""
    number = id_number("19690830", 928)
    old = candidates(area="110105", birth_year=1969, sex="F", masked=number)
    assert old == 1
    four = candidates(area="110105", birth_year=1969, sex="F", masked=mask(number, 6, 4))
    assert 20 < four < 45  # the last four with the year alone: a few dozen
    shown = mask(number, 6, 2)
    assert shown == "110105**********" + number[-2:]
    now = candidates(area="110105", birth_year=1969, sex="F", masked=shown)
    brute = candidates_by_brute_force(area="110105", birth_year=1969, sex="F", masked=shown)
    assert now == brute >= MIN_CANDIDATES
    # The shown digit is even, a woman's: no man's number fits.
    assert candidates(area="110105", birth_year=1969, sex="M", masked=shown) == 0


def mask(number: str, head: int, tail: int) -> str:
    return number[:head] + "*" * (18 - head - tail) + number[-tail:]


@dataclass
class Seen:
    """What the pages show about one person, from every place they appear."""

    masks: list[str] = field(default_factory=list)  # one per place shown
    ages: set[int] = field(default_factory=set)
    sexes: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)  # the rows and page about them


def _text(html: str) -> str:
    return TAG.sub("", html).strip()


def _merged(masks: list[str]) -> str:
    """One mask with every character any of them shows (a disagreement fails)."""
    out = ["*"] * 18
    for m in masks:
        assert len(m) == 18, m
        for i, c in enumerate(m):
            if c != "*":
                assert out[i] in ("*", c), masks
                out[i] = c
    return "".join(out)


def _age(text: str) -> int:
    match = re.fullmatch(r"(\d+) 岁", text)
    assert match, text
    return int(match.group(1))


class Onlooker:
    """A logged-in client that keeps every page it saw and what it learnt per person."""

    def __init__(self, username: str) -> None:
        self.client = client_for(username)
        self.pages: list[str] = []
        self.seen: dict[int, Seen] = defaultdict(Seen)

    def get(self, url: str, data: dict[str, str] | None = None, status: int = 200) -> str:
        response = self.client.get(url, data or {}, follow=True)
        assert response.status_code == status, (url, response.status_code)
        body = response.getvalue()  # a page or a streamed export alike
        if response["Content-Type"].startswith("application/vnd.openxml"):
            return self._sheet(body)
        text = body.decode()
        self.pages.append(text)
        return text

    def _sheet(self, body: bytes) -> str:
        book = load_workbook(BytesIO(body), read_only=True)
        rows = [
            ["" if c is None else str(c) for c in row]
            for row in book.worksheets[0].iter_rows(values_only=True)
        ]
        text = "\n".join("\t".join(r) for r in rows)
        self.pages.append(text)
        if rows and rows[0][:4] == ["姓名", "身份证号", "性别", "年龄"]:
            by_key = {(p.name, p.id_number_masked): p.pk for p in Person.objects.all()}
            for r in rows[1:]:
                if (r[0], r[1]) in by_key:
                    s = self.seen[by_key[(r[0], r[1])]]
                    s.texts.append("\t".join(r))
                    s.masks.append(r[1])
                    s.sexes.add(r[2])
                    s.ages.add(int(r[3]))
                    if r[4]:
                        s.phones.add(r[4])
        return text

    def persons_list(self, html: str) -> set[int]:
        """Read the persons table: name link, masked number, sex, age, phone."""
        found = set()
        for row in ROW.findall(html):
            link = PERSON_LINK.search(row)
            cells = [_text(c) for c in CELL.findall(row)]
            if link is None or len(cells) < 5 or not MASKED_ID.fullmatch(cells[1]):
                continue
            s = self.seen[int(link.group(1))]
            s.texts.append(row)
            s.masks.append(cells[1])
            s.sexes.add(cells[2])
            s.ages.add(_age(cells[3]))
            if cells[4] != "—":
                s.phones.add(cells[4])
            found.add(int(link.group(1)))
        return found

    def owners(self, html: str) -> None:
        """Housing rows name their owner with a masked number."""
        for row in ROW.findall(html):
            if link := PERSON_LINK.search(row):
                s = self.seen[int(link.group(1))]
                s.texts.append(row)
                s.masks.extend(MASKED_ID.findall(row))

    def person_page(self, pk: int) -> str:
        html = self.get(f"/population/persons/{pk}/")
        s = self.seen[pk]
        s.texts.append(html)
        mask = re.search(r'id="value-id_number">([^<]+)<', html)
        sex = re.search(r"<dt>性别</dt><dd>([^<]+)</dd>", html)
        age = re.search(r"<dt>年龄</dt><dd>([^<]+)</dd>", html)
        assert mask and sex and age, html
        s.masks.append(mask.group(1))
        s.sexes.add(sex.group(1))
        s.ages.add(_age(age.group(1)))
        if phone := re.search(r'id="value-phone">([^<]+)<', html):
            s.phones.add(phone.group(1))
        return html

    def every_page(self, url: str, data: dict[str, str]) -> list[str]:
        pages, n = [], 1
        while True:
            html = self.get(url, {**data, "page": str(n)})
            pages.append(html)
            if f"page={n + 1}" not in html:
                return pages
            n += 1


@pytest.fixture
def world(territory: None) -> dict[str, Any]:
    run_seed_demo()
    seed_population(200, 5, dense_streets=[STREET])  # dates of residences and care tags
    grids = demo_grids()
    issue = person_in(
        grids["grid1"], name="议题居民", born="19690830", seq=928, phone="13698765432"
    )
    others = [
        person_in(grids["grid1"], name="年轻居民", born="20040229", seq=12, use="rented"),
        person_in(grids["grid2"], name="外地居民", born="19880101", seq=3, area="410102"),
    ]
    organisation_in(grids["grid1"], name="议题商店", phone="13511112222")
    return {"grids": grids, "issue": issue, "others": others}


def test_pages_a_normal_user_opens_rebuild_nothing(world: dict[str, Any]) -> None:
    user = Onlooker("jianwai_leader")
    scope = scope_for_user(get_user_model().objects.get(username="jianwai_leader"))
    visible = set(persons_visible(scope).values_list("pk", flat=True))
    assert len(visible) > 10 and world["issue"].person.pk in visible

    listed: set[int] = set()
    for html in user.every_page("/population/", {"kind": "persons"}):
        listed |= user.persons_list(html)
    assert listed == visible
    for html in user.every_page("/population/", {"kind": "housing"}):
        user.owners(html)
    user.every_page("/population/", {"kind": "organisations"})
    # Searches by name and by fragment (the form posts; the page redirects to a token).
    issue = world["issue"]
    user.persons_list(user.get("/population/", {"q": "议题"}))
    for q in (f"110105*{issue.number[-4:]}", f"*{issue.number[-4:]}"):
        response = user.client.post("/population/", {"kind": "persons", "q": q}, follow=True)
        assert issue.person.pk in user.persons_list(response.content.decode()), q
        user.pages.append(response.content.decode())
    for pk in visible:
        user.person_page(pk)
    for org in Organisation.objects.filter(street__code=STREET):
        user.get(f"/population/organisations/{org.pk}/")
    grid1 = world["grids"]["grid1"]
    for code in (STREET, grid1[:12], grid1):
        user.get(f"/population/profile/{code}/")
        user.get(f"/population/regions/{code}/buildings.geojson")
    for kind in ("persons", "housing", "organisations"):
        user.get(f"/population/export/{kind}.xlsx")
    # Pages this user cannot open show nothing.
    user.get("/population/imports/", status=403)
    user.get("/population/audit/", status=403)
    assert user.client.get("/admin/population/person/").status_code == 302
    for placed in (issue, *world["others"]):
        refused = user.client.post(
            f"/population/persons/{placed.person.pk}/reveal/", {"reason": "入户核实户籍信息"}
        )
        assert refused.status_code == 403

    everything = "\n".join(user.pages)
    today = timezone.localdate()
    counts = []
    for person in Person.objects.filter(pk__in=visible):
        number = reveal_id_number(bytes(person.id_number_enc))
        born = birth_date_of(number)
        assert number not in everything and number.lower() not in everything
        if person.phone_enc:
            assert reveal_phone(bytes(person.phone_enc)) not in everything
        seen = user.seen[person.pk]
        # Their page, list rows and export rows (other people's dates may coincide).
        forms = (f"{born:%Y%m%d}", born.isoformat(), f"{born.year}年{born.month}月{born.day}日")
        assert not any(f in t for t in seen.texts for f in forms), (person.name, forms)
        assert len(seen.sexes) == 1 and len(seen.ages) == 1, seen
        assert len(seen.masks) >= 3  # the list, the page, the export at least
        masked = _merged(seen.masks)
        age = seen.ages.pop()
        sex = "M" if seen.sexes.pop() == "男" else "F"
        assert today.year - age == born.year and sex == person.sex
        for phone in seen.phones:
            assert phone.count("*") >= 4, phone
        year = today.year - age
        counts.append(candidates(area=masked[:6], birth_year=year, sex=sex, masked=masked))
    assert min(counts) >= MIN_CANDIDATES, min(counts)
    assert RevealAudit.objects.count() == 0
    print(f"candidates per person from the pages: min {min(counts)}, max {max(counts)}")


def test_after_a_reveal_with_a_reason_the_number_and_birth_date_appear(
    world: dict[str, Any],
) -> None:
    issue = world["issue"]
    admin = client_for("data_admin")
    url = f"/population/persons/{issue.person.pk}/"
    before = admin.get(url).content.decode()
    assert issue.number not in before and "1969-08-30" not in before
    assert f"{timezone.localdate().year - 1969} 岁" in before
    page = admin.post(f"{url}reveal/", {"reason": "入户核实户籍信息", "field": "id_number"})
    html = page.content.decode()
    assert page.status_code == 200 and issue.number in html and "1969-08-30" in html
    audit = RevealAudit.objects.get()
    assert (audit.person_id, audit.field, audit.user.username) == (
        issue.person.pk,
        "id_number",
        "data_admin",
    )
    assert Client().get(url).status_code == 302  # and nobody anonymous sees anything
