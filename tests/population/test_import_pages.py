"""Import pages: who may import, upload → preview with remembered mapping → task → report,
template downloads, and the whole flow on a real Celery worker."""

import os
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from population.imports.columns import TEMPLATES
from population.models import ImportJob, ImportTemplate, Person
from population.tasks import run_import
from tests.population.test_imports import PERSON_HEADER, idn, wrong_check

pytestmark = pytest.mark.django_db

IMPORTS = "/population/imports/"


def csv_upload(rows: list[list[Any]], name: str = "people.csv") -> SimpleUploadedFile:
    text = "\n".join(",".join(str(c) for c in row) for row in rows) + "\n"
    return SimpleUploadedFile(name, text.encode("utf-8-sig"), content_type="text/csv")


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def admin_client(client: Client) -> Client:
    """A data administrator by group membership only (no model permissions)."""
    user = User.objects.create_user("importer", password="x", first_name="导入员")
    user.groups.add(Group.objects.get_or_create(name="数据管理员")[0])
    client.force_login(user)
    return client


ROWS: list[list[Any]] = [
    PERSON_HEADER,
    ["张三", idn(1), "男", "", "13800138000", "户籍", "", ""],
    ["李四", idn(2), "", "", "", "流动", "", ""],
    ["坏人", wrong_check(idn(3)), "", "", "", "户籍", "", ""],
]


def upload(client: Client, rows: list[list[Any]], name: str = "people.csv") -> ImportJob:
    response = client.post(IMPORTS, {"kind": "persons", "file": csv_upload(rows, name)})
    assert response.status_code == 302, response.content.decode()
    job = ImportJob.objects.latest("id")
    assert response["Location"] == reverse("population:import-preview", args=[job.pk])
    return job


def mapping_form(response: Any) -> dict[str, str]:
    """The preview page's selected column for each field, as the browser would post it."""
    return {
        f"map_{field.key}": "" if chosen is None else str(chosen)
        for field, chosen in response.context["fields"]
    }


def test_only_data_administrators_may_import(client: Client, media: Path) -> None:
    assert client.get(IMPORTS).status_code == 302  # to the login page
    clerk = User.objects.create_user("clerk", password="x")
    client.force_login(clerk)
    response = client.get(IMPORTS)
    assert response.status_code == 403
    assert "只有数据管理员可以导入" in response.content.decode()
    assert client.get(reverse("population:import-template", args=["persons"])).status_code == 403
    assert client.post(IMPORTS, {"kind": "persons", "file": csv_upload(ROWS)}).status_code == 403
    assert ImportJob.objects.count() == 0
    client.force_login(User.objects.create_superuser("root", password="x"))
    assert client.get(IMPORTS).status_code == 200


def test_upload_preview_mapping_is_remembered_and_the_job_is_queued(
    admin_client: Client, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    # "备用号码" matches no template field: the administrator maps it to 联系电话 by hand.
    rows = [["姓名", "身份证号", "户籍类型", "备用号码"], ["张三", idn(1), "户籍", "13800138000"]]
    job = upload(admin_client, rows)
    page = admin_client.get(reverse("population:import-preview", args=[job.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "备用号码" in html and "张三" in html
    # The sample shows the columns' shape, not the people: numbers and phones masked.
    assert idn(1) not in html and "13800138000" not in html
    assert idn(1)[:6] + "**********" + idn(1)[-2:] in html and "138****8000" in html
    form = mapping_form(page)
    assert (form["map_name"], form["map_id_number"], form["map_hukou"]) == ("0", "1", "2")
    assert form["map_phone"] == ""

    form["map_phone"] = "3"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = admin_client.post(
            reverse("population:import-preview", args=[job.pk]), {**form, "crs": "gcj02"}
        )
    assert started["Location"] == reverse("population:import-progress", args=[job.pk])
    assert len(callbacks) == 1  # run_import.delay, once the transaction commits
    job.refresh_from_db()
    assert job.mapping == {
        "columns": {"name": 0, "id_number": 1, "hukou": 2, "phone": 3},
        "crs": "gcj02",
    }
    template = ImportTemplate.objects.get(kind="persons")
    assert template.mapping["phone"] == 3

    # Same header again: the mapping chosen last time is offered.
    second = upload(admin_client, rows, name="again.csv")
    page = admin_client.get(reverse("population:import-preview", args=[second.pk]))
    assert mapping_form(page)["map_phone"] == "3"


def test_an_uploaded_file_named_after_a_person_is_stored_without_the_number(
    admin_client: Client, media: Path
) -> None:
    job = upload(admin_client, ROWS, name=f"张三{idn(1)}.csv")
    assert job.original_name == f"张三{idn(1)[:6]}**********{idn(1)[-2:]}.csv"
    stored = job.file.name or ""
    assert idn(1) not in stored and stored.endswith(".csv")
    listing = admin_client.get(IMPORTS).content.decode()
    assert idn(1) not in listing


def test_a_missing_required_column_is_refused_on_the_preview(
    admin_client: Client, media: Path
) -> None:
    job = upload(admin_client, ROWS)
    url = reverse("population:import-preview", args=[job.pk])
    form = mapping_form(admin_client.get(url))
    form["map_id_number"] = ""
    response = admin_client.post(url, form)
    assert response.status_code == 400
    assert "缺少必填列:身份证号" in response.content.decode()
    job.refresh_from_db()
    assert job.mapping == {} and job.status == "pending"


def test_an_unreadable_upload_is_refused(admin_client: Client, media: Path) -> None:
    old = SimpleUploadedFile(
        "old.xls", b"\xd0\xcf\x11\xe0", content_type="application/vnd.ms-excel"
    )
    response = admin_client.post(IMPORTS, {"kind": "persons", "file": old})
    assert response.status_code == 400
    assert "另存为 .xlsx" in response.content.decode()
    empty = SimpleUploadedFile("empty.csv", b"", content_type="text/csv")
    response = admin_client.post(IMPORTS, {"kind": "persons", "file": empty})
    assert response.status_code == 400
    assert ImportJob.objects.count() == 0


def test_cancel_drops_the_job_and_its_file(admin_client: Client, media: Path) -> None:
    job = upload(admin_client, ROWS)
    path = Path(job.file.path)
    assert path.exists()
    url = reverse("population:import-preview", args=[job.pk])
    response = admin_client.post(url, {"cancel": "1"})
    assert response["Location"] == reverse("population:imports")
    assert not ImportJob.objects.filter(pk=job.pk).exists() and not path.exists()


@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_template_spreadsheets(admin_client: Client, kind: str) -> None:
    response = admin_client.get(reverse("population:import-template", args=[kind]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="template-{kind}.xlsx"'
    sheet = load_workbook(BytesIO(response.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == [f.label for f in TEMPLATES[kind]]
    assert any(c.value for c in sheet[2])  # the example row
    required = {f.label for f in TEMPLATES[kind] if f.required}
    assert {c.value for c in sheet[1] if c.font.bold} == required


def test_status_report_and_report_spreadsheet(
    admin_client: Client, media: Path, territory: None
) -> None:
    job = upload(admin_client, ROWS)
    url = reverse("population:import-preview", args=[job.pk])
    admin_client.post(url, mapping_form(admin_client.get(url)))
    status = admin_client.get(reverse("population:import-status", args=[job.pk])).json()
    assert (status["status"], status["phase"], status["reportUrl"]) == ("pending", "queued", None)
    progress = admin_client.get(reverse("population:import-progress", args=[job.pk]))
    assert progress.status_code == 200 and 'id="import-bar"' in progress.content.decode()

    run_import(job.pk)  # what the worker does, in-process

    job.refresh_from_db()
    assert job.status == "done" and job.processed_rows == job.total_rows == 3
    assert not job.file  # the upload (clear identity numbers) is gone
    status = admin_client.get(reverse("population:import-status", args=[job.pk])).json()
    assert status["phase"] == "done"
    assert status["counts"]["created"] == 2 and status["counts"]["rejected"] == 1
    report = admin_client.get(status["reportUrl"])
    html = report.content.decode()
    assert (
        report.status_code == 200 and "校验位错误" in html and '<td class="pop-mono">4</td>' in html
    )
    sheet = admin_client.get(reverse("population:import-report-xlsx", args=[job.pk]))
    book = load_workbook(BytesIO(sheet.content))
    assert book["拒绝的行"]["A2"].value == 4
    assert Person.objects.count() == 2
    assert run_import(job.pk) is None  # a second delivery does nothing


@pytest.fixture
def private_queue(celery_worker_process: object) -> Iterator[str]:
    """Route run_import to a queue only this process's worker consumes.

    Every pytest process starts its worker on the same test broker; without this, another
    process's worker (on another test database) could take the task and find no job."""
    from chaoyang.celery import app

    queue = f"imports-test-{os.getpid()}"
    worker = f"test-{os.getpid()}@{os.uname().nodename}"
    app.control.add_consumer(queue, destination=[worker], reply=True, timeout=60)
    routes = app.conf.task_routes
    app.conf.task_routes = {"population.tasks.run_import": {"queue": queue}}
    try:
        yield queue
    finally:
        app.conf.task_routes = routes
        app.control.cancel_consumer(queue, destination=[worker], reply=True, timeout=60)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_page_flow_runs_on_a_real_worker(
    private_queue: str, territory: None, client: Client
) -> None:
    user = User.objects.create_superuser("chief", password="x")
    client.force_login(user)
    job = upload(client, ROWS, name="worker.csv")
    url = reverse("population:import-preview", args=[job.pk])
    response = client.post(url, mapping_form(client.get(url)))
    assert response.status_code == 302
    status_url = reverse("population:import-status", args=[job.pk])
    seen = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = client.get(status_url).json()
        seen.append(status["phase"])
        if status["phase"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert status["phase"] == "done", (status, seen)
    assert status["processed"] == status["total"] == 3
    assert status["counts"]["created"] == 2 and status["counts"]["rejected"] == 1
    assert client.get(status["reportUrl"]).status_code == 200
    assert Person.objects.count() == 2
