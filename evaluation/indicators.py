"""The indicators: selectors over the rollups for one object and one period.

Every rate comes back as a Rate (numerator, denominator: the count shown beside it), every
count as an int. Which date puts a row into a period is the one rule of docs/evaluation.md:
a count by the date of the event it counts; a rate over what fell due in the period (a
stage round's due_at, a case's close_due_at), up to `as_of`, since what has not yet fallen
due can be neither on time nor late.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from cases.events import EventKind
from cases.models import Satisfaction, Source, Status
from core.roles import Role
from dispatch.models import Stage
from dispatch.workflow import CITIZEN_SOURCES
from evaluation.models import CaseStage, CaseSummary
from evaluation.periods import Period
from grids.models import Level, Membership, Region

K = EventKind
WORKER_SOURCES = (Source.GRID_WORKER, Source.PATROL)
CITIZEN = tuple(CITIZEN_SOURCES)


@dataclass(frozen=True)
class Rate:
    numerator: float
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def _rate(qs: QuerySet, hit: Q) -> Rate:
    got = qs.aggregate(n=Count("pk"), hit=Count("pk", filter=hit))
    return Rate(got["hit"], got["n"])


def _in(name: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{name}__gte": start, f"{name}__lt": end})


def _due(period: Period, as_of: datetime | None, name: str = "due_at") -> Q:
    return _in(name, *period.window(as_of or timezone.now()))


def region_q(region: Region | None) -> Q:
    """The summaries (or stage rows, which carry the street only) of a region."""
    if region is None or region.level == Level.DISTRICT:
        return Q()
    column = {Level.STREET: "street", Level.COMMUNITY: "community", Level.GRID: "grid"}
    return Q(**{f"{column[Level(region.level)]}_id": region.id})


# --- regions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionFigures:
    opened: int  # 立案数
    public_share: Rate  # 监督举报率: public reports among the cases opened
    closure: Rate  # 结案率: closed / due to close
    on_time_closure: Rate  # 按期结案率: closed on time / due to close
    overdue: Rate  # 超期率: due to close with a missed deadline / due to close


def region_figures(
    region: Region | None, period: Period, *, as_of: datetime | None = None
) -> RegionFigures:
    rows = CaseSummary.objects.filter(region_q(region))
    opened = _rate(rows.filter(_in("opened_at", period.start, period.end)), Q(source__in=CITIZEN))
    due = rows.filter(_due(period, as_of, "close_due_at"))
    got = due.aggregate(
        n=Count("pk"),
        closed=Count("pk", filter=Q(status=Status.CLOSED)),
        on_time=Count("pk", filter=Q(closed_on_time=True)),
    )
    n = got["n"]
    return RegionFigures(
        opened=opened.denominator,
        public_share=opened,
        closure=Rate(got["closed"], n),
        on_time_closure=Rate(got["on_time"], n),
        overdue=Rate(n - got["on_time"], n),
    )


def region_figures_by(
    level: Level, period: Period, *, within: Region | None = None, as_of: datetime | None = None
) -> dict[int, RegionFigures]:
    """region_figures of every region of `level` (street, community or grid) within a region,
    in two grouped queries, for rankings; regions with nothing to count are absent."""
    column = {Level.STREET: "street_id", Level.COMMUNITY: "community_id", Level.GRID: "grid_id"}[
        level
    ]
    rows = CaseSummary.objects.filter(region_q(within)).exclude(**{f"{column}__isnull": True})
    opened = {
        r[column]: r
        for r in rows.filter(_in("opened_at", period.start, period.end))
        .values(column)
        .annotate(n=Count("pk"), public=Count("pk", filter=Q(source__in=CITIZEN)))
    }
    due = {
        r[column]: r
        for r in rows.filter(_due(period, as_of, "close_due_at"))
        .values(column)
        .annotate(
            n=Count("pk"),
            closed=Count("pk", filter=Q(status=Status.CLOSED)),
            timely=Count("pk", filter=Q(closed_on_time=True)),
        )
    }
    out = {}
    for region_id in opened.keys() | due.keys():
        o = opened.get(region_id, {"n": 0, "public": 0})
        d = due.get(region_id, {"n": 0, "closed": 0, "timely": 0})
        out[region_id] = RegionFigures(
            opened=o["n"],
            public_share=Rate(o["public"], o["n"]),
            closure=Rate(d["closed"], d["n"]),
            on_time_closure=Rate(d["timely"], d["n"]),
            overdue=Rate(d["n"] - d["timely"], d["n"]),
        )
    return out


# --- departments --------------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentFigures:
    due: int  # 应处置数: handle rounds that fell due
    on_time_handling: Rate  # 按时处置率: reported done by the deadline / due
    closure: Rate  # 结案率: rounds whose case is now closed / due
    rework: Rate  # 返工率: rounds whose work failed its check / due
    extension: Rate  # 延期率: extensions approved on its rounds that fell due / due
    returns: int  # 退回: returns made in the period


def department_figures(
    department_id: int, period: Period, *, as_of: datetime | None = None
) -> DepartmentFigures:
    rounds = CaseStage.objects.filter(department_id=department_id)
    # A case handed back in time was not the department's to handle: a return, not a miss.
    handle = Q(stage=Stage.HANDLE) & ~Q(end_action=K.RETURNED, on_time=True)
    got = rounds.filter(_due(period, as_of), stage__in=(Stage.ACCEPT, Stage.HANDLE)).aggregate(
        n=Count("pk", filter=handle),
        timely=Count("pk", filter=handle & Q(end_action=K.HANDLED, on_time=True)),
        closed=Count("pk", filter=handle & Q(case__evaluation_summary__status=Status.CLOSED)),
        reworked=Count("pk", filter=handle & Q(undone_by=K.CHECK_FAILED)),
        extensions=Sum("extensions"),
    )
    returns = rounds.filter(
        _in("ended_at", period.start, period.end), end_action=K.RETURNED
    ).count()
    n = got["n"]
    return DepartmentFigures(
        due=n,
        on_time_handling=Rate(got["timely"], n),
        closure=Rate(got["closed"], n),
        rework=Rate(got["reworked"], n),
        extension=Rate(got["extensions"] or 0, n),
        returns=returns,
    )


# --- persons ------------------------------------------------------------------------------


def _ended_by(
    user_id: int, stage: str, actions: tuple[str, ...], period: Period, as_of: datetime | None
) -> Rate:
    """The rounds of `stage` the person ended with one of `actions` that fell due in the
    period, and how many of them ended on time. A person answers for the rounds they ended;
    a round nobody ended counts against the region (超期率), not a person."""
    rows = CaseStage.objects.filter(
        _due(period, as_of), ended_by_id=user_id, stage=stage, end_action__in=actions
    )
    return _rate(rows, Q(on_time=True))


@dataclass(frozen=True)
class WorkerFigures:
    reports: int  # 上报数
    valid: Rate  # 有效上报率: reports opened / reports
    misses: Rate  # 漏报率: public reports opened in their grids / cases opened there
    on_time_verify: Rate  # 按时核实率
    on_time_check: Rate  # 按时核查率


def worker_grids_q(user_id: int) -> Q:
    """The summaries of the grids the person works as a grid worker (a larger region: all
    its grids). Nothing when they hold no such membership."""
    codes = Membership.objects.filter(user_id=user_id, role=Role.GRID_WORKER).values_list(
        "region__code", flat=True
    )
    q = Q(pk__in=[])
    for code in codes:
        q |= Q(grid__code__startswith=code)
    return q


def worker_figures(user_id: int, period: Period, *, as_of: datetime | None = None) -> WorkerFigures:
    reports = CaseSummary.objects.filter(
        _in("reported_at", period.start, period.end),
        reporter_id=user_id,
        source__in=WORKER_SOURCES,
    )
    valid = _rate(reports, Q(opened_at__isnull=False))
    opened_there = CaseSummary.objects.filter(
        worker_grids_q(user_id), _in("opened_at", period.start, period.end)
    )
    return WorkerFigures(
        reports=valid.denominator,
        valid=valid,
        misses=_rate(opened_there, Q(source__in=CITIZEN)),
        on_time_verify=_ended_by(user_id, Stage.VERIFY, (K.VERIFIED,), period, as_of),
        on_time_check=_ended_by(
            user_id, Stage.CHECK, (K.CHECK_PASSED, K.CHECK_FAILED), period, as_of
        ),
    )


@dataclass(frozen=True)
class OperatorFigures:
    registered: int  # 受理数: reports registered
    on_time: Rate  # 按时受理率: the intake rounds they passed on (to verify, merged) on time


def operator_figures(
    user_id: int, period: Period, *, as_of: datetime | None = None
) -> OperatorFigures:
    registered = CaseSummary.objects.filter(
        _in("reported_at", period.start, period.end),
        reporter_id=user_id,
        reporter_role=Role.INTAKE_OPERATOR,
    ).count()
    on_time = _ended_by(user_id, Stage.OPEN, (K.VERIFY_REQUESTED, K.MERGED), period, as_of)
    return OperatorFigures(registered=registered, on_time=on_time)


@dataclass(frozen=True)
class LeadFigures:
    on_time_open: Rate  # 按时立案率
    accurate_open: Rate  # 准确立案率: (opened − voided later) / opened
    on_time_close: Rate  # 按时结案率


def lead_figures(user_id: int, period: Period, *, as_of: datetime | None = None) -> LeadFigures:
    opened = CaseSummary.objects.filter(
        _in("opened_at", period.start, period.end), opened_by_id=user_id
    )
    return LeadFigures(
        on_time_open=_ended_by(user_id, Stage.OPEN, (K.OPENED,), period, as_of),
        accurate_open=_rate(opened, Q(voided_at__isnull=True)),
        on_time_close=_ended_by(user_id, Stage.CLOSE, (K.CLOSED,), period, as_of),
    )


@dataclass(frozen=True)
class DispatcherFigures:
    on_time: Rate  # 按时派遣率: dispatched (or escalated) by the deadline
    accurate: Rate  # 准确派遣率: (dispatched − returned) / dispatched


def dispatcher_figures(
    user_id: int, period: Period, *, as_of: datetime | None = None
) -> DispatcherFigures:
    # Each dispatch starts an accept round; a return marks that round undone.
    dispatches = CaseStage.objects.filter(
        _in("started_at", period.start, period.end),
        started_by_id=user_id,
        start_action=K.DISPATCHED,
        stage=Stage.ACCEPT,
    )
    return DispatcherFigures(
        on_time=_ended_by(user_id, Stage.DISPATCH, (K.DISPATCHED, K.ESCALATED), period, as_of),
        accurate=_rate(dispatches, Q(undone_by="")),
    )


# --- 12345 (接诉即办), per street -----------------------------------------------------------


@dataclass(frozen=True)
class HotlineFigures:
    response: Rate  # 响应率: public reports verified on time / whose verification fell due
    resolution: Rate  # 解决率: public reports closed / due to close
    satisfaction: Rate  # 满意率: (satisfied + factor × basically) / called back


def hotline_figures(
    region: Region | None,
    period: Period,
    *,
    basically: Decimal = Decimal("0.9"),
    as_of: datetime | None = None,
) -> HotlineFigures:
    """Per street (the 12345 rankings' unit), or the whole district with no region."""
    if region is not None and region.level not in (Level.DISTRICT, Level.STREET):
        raise ValueError("the 12345 rates are per street")
    # The first verify round of a public report is the one intake starts.
    first_verify = CaseStage.objects.filter(
        _due(period, as_of),
        region_q(region),  # a street's: stage rows carry the street
        stage=Stage.VERIFY,
        seq=0,
        case__evaluation_summary__source__in=CITIZEN,
    )
    cases = CaseSummary.objects.filter(region_q(region), source__in=CITIZEN)
    rated = cases.filter(_in("called_back_at", period.start, period.end)).aggregate(
        n=Count("pk"),
        yes=Count("pk", filter=Q(satisfaction=Satisfaction.SATISFIED)),
        partly=Count("pk", filter=Q(satisfaction=Satisfaction.BASICALLY)),
    )
    return HotlineFigures(
        response=_rate(first_verify, Q(end_action=K.VERIFIED, on_time=True)),
        resolution=_rate(cases.filter(_due(period, as_of, "close_due_at")), Q(status="closed")),
        satisfaction=Rate(rated["yes"] + float(basically) * rated["partly"], rated["n"]),
    )


def hotline_figures_by_street(
    period: Period, *, basically: Decimal = Decimal("0.9"), as_of: datetime | None = None
) -> dict[int, HotlineFigures]:
    """hotline_figures of every street, in three grouped queries, for the monthly ranking;
    streets with nothing to count are absent."""
    response = {
        r["street_id"]: Rate(r["hit"], r["n"])
        for r in CaseStage.objects.filter(
            _due(period, as_of),
            street__isnull=False,
            stage=Stage.VERIFY,
            seq=0,
            case__evaluation_summary__source__in=CITIZEN,
        )
        .values("street_id")
        .annotate(n=Count("pk"), hit=Count("pk", filter=Q(end_action=K.VERIFIED, on_time=True)))
    }
    cases = CaseSummary.objects.filter(street__isnull=False, source__in=CITIZEN)
    resolution = {
        r["street_id"]: Rate(r["hit"], r["n"])
        for r in cases.filter(_due(period, as_of, "close_due_at"))
        .values("street_id")
        .annotate(n=Count("pk"), hit=Count("pk", filter=Q(status=Status.CLOSED)))
    }
    satisfaction = {
        r["street_id"]: Rate(r["yes"] + float(basically) * r["partly"], r["n"])
        for r in cases.filter(_in("called_back_at", period.start, period.end))
        .values("street_id")
        .annotate(
            n=Count("pk"),
            yes=Count("pk", filter=Q(satisfaction=Satisfaction.SATISFIED)),
            partly=Count("pk", filter=Q(satisfaction=Satisfaction.BASICALLY)),
        )
    }
    none = Rate(0, 0)
    return {
        street: HotlineFigures(
            response.get(street, none),
            resolution.get(street, none),
            satisfaction.get(street, none),
        )
        for street in response.keys() | resolution.keys() | satisfaction.keys()
    }
