"""The closed loop in a real browser, across four logins.

A grid worker reports with a photo and the phone's GPS → the shift lead opens the case in
the street command centre → the dispatcher dispatches it there → the department handler
accepts and reports done with a photo → the grid worker's check passes with a photo → the
shift lead closes it; the timeline then shows every step. The grid worker and the handler
use phones (390×844), the command centre a desktop. Every step is a click on a page;
nothing is done through a service call behind the browser's back.

Set FIELD_SCREENSHOTS=<dir> to keep a screenshot of each page.
"""

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import (
    Browser,
    BrowserContext,
    FilePayload,
    Locator,
    Page,
    Route,
    ViewportSize,
    expect,
)
from pytest_django.fixtures import Settings

from cases.models import Case, Status
from dispatch.models import Department
from tests.browser import patient
from tests.factories import run_seed_demo, safest_point

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "chaoyang2026"  # the demo accounts' password (settings.DEMO_PASSWORD)
GRID1 = "110105001001001"  # jianwai_grid1's grid
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
STEPS = ["report", "open", "dispatch", "accept", "report_done", "check_pass", "close"]


@pytest.fixture
def demo(territory: None, settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.DEMO_PASSWORD = PASSWORD
    run_seed_demo()


def photo(colour: str) -> FilePayload:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, "JPEG", quality=80)
    return {"name": f"{colour}.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


class People:
    """One browser context per person: a phone in the field, a desktop in the centre."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.browser = browser
        self.base = base
        self.contexts: list[BrowserContext] = []
        self.shots = os.environ.get("FIELD_SCREENSHOTS", "")

    def login(
        self, username: str, where: tuple[float, float] | None = None, *, desk: bool = False
    ) -> Page:
        context = patient(
            self.browser.new_context(
                viewport=DESKTOP if desk else PHONE,
                device_scale_factor=1 if desk else 2,
                is_mobile=not desk,
                has_touch=not desk,
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
                reduced_motion="reduce",
            )
        )
        if where is not None:
            context.grant_permissions(["geolocation"], origin=self.base)
            context.set_geolocation({"longitude": where[0], "latitude": where[1], "accuracy": 8})
        self.contexts.append(context)
        page = context.new_page()
        page.goto(f"{self.base}/accounts/login/")
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    def shot(self, page: Page, name: str) -> None:
        if self.shots:
            Path(self.shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{self.shots}/{name}.png", full_page=True)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def people(live_server: Any, demo: None, browser: Browser) -> Iterator[People]:
    p = People(browser, live_server.url)
    yield p
    p.close()


def act(page: Page, action: str, fill: dict[str, str] | None = None, **files: FilePayload) -> None:
    """Open an action's form on the case page, fill it, send it, wait for the result."""
    details = page.locator(f"#action-{action}")
    expect(details).to_be_visible()
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    form = details.locator("form")
    for selector, value in (fill or {}).items():
        form.locator(selector).fill(value)
    for selector, payload in files.items():
        form.locator(f"[name={selector}]").set_input_files(payload)
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("已完成")


def centre_form(page: Page, queue: str, case: Case, action: str) -> Locator:
    """In the command centre: pick the case from a queue and open an action's form."""
    expect(page).to_have_url(re.compile(r"/centre/"))
    page.locator(f'a.queue-link[data-queue="{queue}"]').click()
    row = page.locator(f'#queue-cases tr[data-case="{case.id}"]')
    expect(row).to_be_visible()
    row.click()
    expect(page.locator("#case-title")).to_have_text(case.number)
    page.locator(f'.action-btn[data-action="{action}"]').click()
    form = page.locator(f"#act-{case.id}-{action}")
    expect(form).to_be_visible()
    return form


def centre_submit(page: Page, form: Locator, label: str) -> None:
    form.locator("button[type=submit]").click()
    expect(page.locator(".panel-msg-success")).to_contain_text(f"已完成“{label}”")


def test_a_case_goes_round_the_closed_loop(people: People) -> None:
    base = people.base
    lng, lat = safest_point(GRID1)

    # 1. The grid worker, on patrol with GPS, reports exposed garbage with a photo.
    worker = people.login("jianwai_grid1", where=(lng, lat))
    expect(worker).to_have_url(re.compile(r"/field/tasks/$"))
    people.shot(worker, "01-worker-tasks-empty")
    worker.get_by_role("link", name=re.compile("上报新问题")).click()
    expect(worker.locator("#gps-source")).to_have_text("GPS 定位")
    assert abs(float(worker.locator("#f-lng").input_value()) - lng) < 1e-6
    expect(worker.locator("#gps-accuracy")).to_contain_text("8")
    # The pick map draws the worker's own grid, from our data: no basemap needed.
    expect(worker.locator("#pick-map[data-outlines=loaded]")).to_have_count(1)
    worker.locator("#f-group").select_option("06")  # 市容环境(事件)
    worker.locator("#f-category").select_option(label="暴露垃圾")
    worker.locator("#f-photos").set_input_files(photo("red"))
    expect(worker.locator("#f-photos-preview img")).to_have_count(1)
    worker.locator("#f-description").fill("建外第一社区东门外人行道有两袋暴露垃圾")
    people.shot(worker, "02-worker-report-filled")
    worker.locator("#report-form button[type=submit]").click()
    expect(worker.locator("#done-title")).to_have_text("上报成功")
    number = worker.locator("#case-number").inner_text().strip()
    people.shot(worker, "03-worker-report-done")
    case = Case.objects.get(number=number)
    assert case.grid is not None and case.grid.code == GRID1
    assert case.attachments.count() == 1

    # 2. The shift lead opens the case in the street command centre.
    lead = people.login("jianwai_lead", desk=True)
    form = centre_form(lead, "to_open", case, "open")
    people.shot(lead, "04-lead-centre")
    centre_submit(lead, form, "立案")

    # 3. The dispatcher sends it to the street's sanitation unit.
    dispatcher = people.login("jianwai_dispatcher", desk=True)
    form = centre_form(dispatcher, "to_dispatch", case, "dispatch")
    sanitation = Department.objects.get(code="110105001-sanitation")
    form.locator("select[name=department]").select_option(str(sanitation.id))
    centre_submit(dispatcher, form, "派遣")

    # 4. The handler finds it in the inbox, accepts it, then reports it done with a photo.
    handler = people.login("jianwai_hw")
    expect(handler).to_have_url(re.compile(r"/field/inbox/$"))
    new = handler.locator("[data-group=new]")
    expect(new).to_contain_text(number)
    people.shot(handler, "05-handler-inbox")
    new.get_by_role("link", name=re.compile(number)).click()
    act(handler, "accept")
    people.shot(handler, "06-handler-accepted")
    act(handler, "report_done", {"textarea[name=note]": "已清运,路面已冲洗"}, photos=photo("green"))

    # 5. The grid worker sees it to check, and passes the check with a photo.
    worker.goto(f"{base}/field/tasks/")
    check = worker.locator("[data-section=check]")
    expect(check).to_contain_text(number)
    people.shot(worker, "07-worker-tasks-check")
    check.get_by_role("link", name=re.compile(number)).click()
    act(worker, "check_pass", photos=photo("blue"))

    # 6. The shift lead closes it in the command centre.
    lead.goto(f"{base}/centre/")
    centre_submit(lead, centre_form(lead, "to_close", case, "close"), "结案")
    # The centre's timeline shows every step too.
    for action in STEPS:
        expect(lead.locator(f"#case-panel .timeline .tl-{action}")).to_have_count(1)

    # The timeline shows every step, in order, on every participant's page.
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    worker.reload()
    steps = worker.locator(".timeline .tl-item").evaluate_all(
        "items => items.map(i => i.dataset.action)"
    )
    assert steps == STEPS
    timeline = worker.locator(".timeline")
    for label in ("上报", "立案", "派遣", "签收", "处置反馈", "核查通过", "结案"):
        expect(timeline).to_contain_text(label)
    expect(timeline).to_contain_text("建外街道环卫所")
    expect(worker.locator(".timeline img")).to_have_count(3)  # report, done, check photos
    people.shot(worker, "08-worker-case-closed")


UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def fill_report(page: Page, text: str) -> None:
    page.locator("#f-category").select_option("0601")
    page.locator("#f-photos").set_input_files(photo("red"))
    page.locator("#f-description").fill(text)
    expect(page.locator("#gps-source")).to_have_text("GPS 定位")


def test_a_report_form_keeps_one_key_until_its_case_is_registered(people: People) -> None:
    base = people.base
    worker = people.login("jianwai_grid1", where=safest_point(GRID1))
    key = worker.locator("#f-idempotency-key")

    worker.goto(f"{base}/field/report/")
    first = key.input_value()
    assert UUID.match(first), first
    worker.reload()  # the same unsent form: the same key
    assert key.input_value() == first

    # A double tap sends the form once (and the key would make a second copy harmless).
    posts: list[str] = []
    worker.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    fill_report(worker, "第一次上报:路边垃圾")
    worker.locator("#report-form button[type=submit]").dblclick()
    expect(worker.locator("#done-title")).to_have_text("上报成功")
    assert len(posts) == 1
    assert Case.objects.count() == 1

    # The key is spent: the next form gets a new one.
    worker.goto(f"{base}/field/report/")
    second = key.input_value()
    assert UUID.match(second) and second != first

    # The connection drops after the server registered the case but before the answer
    # arrived. The worker opens the form again and sends it again: same key, same case.
    report_url = re.compile(r".*/field/report/$")

    def lose_the_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        route.fetch()  # the request reaches the server and is registered ...
        route.abort("connectionreset")  # ... but the answer never reaches the phone

    fill_report(worker, "第二次上报:信号不好")
    worker.route(report_url, lose_the_answer)
    with worker.expect_event("requestfailed"):
        worker.locator("#report-form button[type=submit]").click()
    worker.unroute(report_url)
    assert Case.objects.count() == 2
    worker.goto(f"{base}/field/report/")
    assert key.input_value() == second
    fill_report(worker, "第二次上报:信号不好")
    worker.locator("#report-form button[type=submit]").click()
    expect(worker.locator("#done-title")).to_have_text("该表单已提交过")
    assert Case.objects.count() == 2
    number = worker.locator("#case-number").inner_text().strip()
    assert Case.objects.get(number=number).description == "第二次上报:信号不好"


def click_map(page: Page, lng: float, lat: float) -> None:
    x, y = page.evaluate(
        "([lat, lng]) => { const p = window.chaoyangPickMap.latLngToContainerPoint([lat, lng]);"
        " return [p.x, p.y]; }",
        [lat, lng],
    )
    box = page.locator("#pick-map").bounding_box()
    assert box and 0 < x < box["width"] and 0 < y < box["height"], "point is off the map"
    page.locator("#pick-map").click(position={"x": x, "y": y})


def test_hotline_call_from_outside_the_district_is_registered_for_transfer(
    people: People,
) -> None:
    operator = people.login("jianwai_operator", desk=True)
    operator.goto(f"{people.base}/field/hotline/")
    expect(operator.locator("#pick-map[data-outlines=loaded]")).to_have_count(1)
    operator.locator("#f-citizen_name").fill("张先生")
    operator.locator("#f-citizen_phone").fill("13700001111")
    operator.locator("#f-category").select_option("0601")
    operator.locator("#f-description").fill("来电反映:小区门口垃圾堆积")
    outside = operator.locator("#outside-box")
    expect(outside).to_be_hidden()

    # Inside the district first: the server names the grid.
    lng, lat = safest_point(GRID1)
    click_map(operator, lng, lat)
    expect(operator.locator("#point-status")).to_contain_text("建外第一社区第1网格")
    expect(outside).to_be_hidden()

    # Then the caller turns out to be in Dongcheng, the western neighbour: outside.
    lng, lat = safest_point("110101")
    operator.evaluate("([lat, lng]) => window.chaoyangPickMap.setView([lat, lng], 13)", [lat, lng])
    click_map(operator, lng, lat)
    expect(operator.locator("#point-status")).to_contain_text("不在朝阳区")
    expect(outside).to_be_visible()
    outside.get_by_label("登记为非本辖区").check()
    people.shot(operator, "09-hotline-outside")
    operator.locator("#hotline-form button[type=submit]").click()
    expect(operator.locator("#done-title")).to_have_text("登记成功")
    number = operator.locator("#case-number").inner_text().strip()
    case = Case.objects.get(number=number)
    assert case.outside_jurisdiction and case.grid is None and case.location is not None
    assert case.source == "hotline"
    expect(operator.locator(".success-card")).to_contain_text("非本辖区")
