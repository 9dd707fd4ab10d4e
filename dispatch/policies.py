"""Default routing and time limits for every 小类 and urgency (CategoryPolicy), as data.

Routing (docs/domain.md, 派遣): a component (部件) has an owner, so it goes to the owner's
district department first (principle "owner"); an event (事件) or a social service happens
somewhere, so it goes to the department of the street it is in first (principle
"locality"). A policy names a department *kind*; the case's location picks the unit.

Time limits: the handle stage is set per 小类 below; the other stages share defaults per
urgency. Urgent roughly halves the normal handle limit and critical counts natural hours,
unless a row says otherwise. Amounts are whole numbers of their unit.
"""

from typing import NamedTuple

from django.db import transaction

from cases.catalog import COMPONENT, SUB_BY_CODE, kind_of, seed_categories
from cases.models import Category, Urgency

from .models import CategoryPolicy, Department, Stage, TimeUnit

WH = TimeUnit.WORK_HOURS.value
WD = TimeUnit.WORK_DAYS.value
NH = TimeUnit.NATURAL_HOURS.value
HOURS_PER_WORK_DAY = 8

STREET = Department.Level.STREET.value
DISTRICT = Department.Level.DISTRICT.value

# slug -> (Chinese name, level). Department.kind holds the slug (at most 16 characters).
DEPARTMENT_KINDS: dict[str, tuple[str, str]] = {
    # Street level: the locality's own forces.
    "enforcement": ("城管执法队", STREET),
    "sanitation": ("环卫所", STREET),
    "community": ("社区服务站", STREET),
    "safety": ("平安办(安全生产)", STREET),
    "population": ("流动人口和出租房屋服务站", STREET),
    "police": ("派出所", STREET),
    "mediation": ("司法所(人民调解)", STREET),
    # District level: the owners of facilities and the supervising bureaus.
    "city": ("区城市管理委员会", DISTRICT),
    "housing": ("区住房和城乡建设委员会", DISTRICT),
    "traffic": ("区交通委(交通支队)", DISTRICT),
    "water": ("区水务局", DISTRICT),
    "landscape": ("区园林绿化局", DISTRICT),
    "civil": ("区民政局", DISTRICT),
}

Limit = tuple[int, str]  # (amount, TimeUnit)


class Rule(NamedTuple):
    """Who handles a 小类 first, and its handle limit per urgency (None: derived)."""

    kind: str
    handle: Limit
    urgent: Limit | None = None
    critical: Limit | None = None


RULES: dict[str, Rule] = {
    # Components: the owner's district department.
    "0101": Rule("city", (4, WH), (2, NH), (1, NH)),  # 井盖缺失
    "0102": Rule("city", (1, WD)),  # 井盖破损
    "0103": Rule("city", (2, WD)),  # 路灯不亮
    "0104": Rule("water", (2, WD)),  # 消火栓损坏
    "0105": Rule("water", (1, WD)),  # 雨水箅子堵塞
    "0201": Rule("traffic", (1, WD)),  # 交通护栏损坏
    "0202": Rule("traffic", (2, WD)),  # 公交站亭损坏
    "0203": Rule("traffic", (3, WD), (1, WD)),  # 道路破损
    "0204": Rule("traffic", (4, WH)),  # 交通信号灯故障
    "0205": Rule("traffic", (3, WD)),  # 交通标志损坏
    "0301": Rule("city", (2, WD)),  # 垃圾桶破损
    "0302": Rule("city", (1, WD)),  # 公厕设施损坏
    "0303": Rule("city", (2, WD)),  # 分类桶站损坏
    "0401": Rule("landscape", (4, WH), (2, NH), (1, NH)),  # 树木倒伏
    "0402": Rule("landscape", (3, WD)),  # 绿化设施损坏
    "0403": Rule("landscape", (3, WD)),  # 毁绿占绿
    "0501": Rule("housing", (1, WD)),  # 外立面坠落隐患
    "0502": Rule("housing", (3, WD)),  # 危险房屋
    "0503": Rule("housing", (5, WD)),  # 地下空间违规使用
    "1201": Rule("water", (1, WD)),  # 供水管线漏水
    "1202": Rule("water", (4, WH)),  # 污水冒溢
    "1203": Rule("city", (1, WD)),  # 供暖不热
    "1204": Rule("city", (4, WH)),  # 停水停电
    # Events: the street's own department.
    "0601": Rule("sanitation", (4, WH)),  # 暴露垃圾
    "0602": Rule("sanitation", (2, WD)),  # 积存垃圾渣土
    "0603": Rule("sanitation", (4, WH)),  # 道路不洁
    "0604": Rule("sanitation", (1, WD)),  # 绿地脏乱
    "0605": Rule("sanitation", (4, WH)),  # 道路遗撒
    "0606": Rule("enforcement", (2, WH)),  # 露天焚烧
    "0607": Rule("enforcement", (1, WD)),  # 乱堆物料
    "0701": Rule("sanitation", (1, WD)),  # 非法小广告
    "0702": Rule("enforcement", (5, WD)),  # 违规户外广告
    "0703": Rule("enforcement", (2, WD), (4, WH)),  # 牌匾标识破损
    "0704": Rule("enforcement", (4, WH)),  # 街头散发广告
    "0801": Rule("enforcement", (4, WH)),  # 施工扰民
    "0802": Rule("enforcement", (2, WD)),  # 施工废弃料
    "0803": Rule("enforcement", (4, WH)),  # 违法建设: stop work
    "0804": Rule("enforcement", (4, WH)),  # 工地扬尘
    "0805": Rule("enforcement", (1, WD)),  # 道路挖掘未恢复
    "0901": Rule("safety", (2, NH), (1, NH), (1, NH)),  # 燃气泄漏
    "0902": Rule("safety", (4, WH), (2, NH), (1, NH)),  # 积水
    "0903": Rule("safety", (1, WD)),  # 火灾隐患
    "0904": Rule("safety", (1, NH), (1, NH), (1, NH)),  # 电梯困人
    "1001": Rule("enforcement", (4, WH)),  # 占道经营
    "1002": Rule("enforcement", (2, WH)),  # 无照经营游商
    "1003": Rule("enforcement", (4, WH)),  # 店外经营
    "1004": Rule("enforcement", (2, WH)),  # 违规停车
    "1005": Rule("enforcement", (4, WH)),  # 共享单车乱停放
    "1006": Rule("enforcement", (1, WD)),  # 废品收购占道
    "1301": Rule("enforcement", (4, WH)),  # 噪声扰民
    "1302": Rule("enforcement", (2, WH)),  # 露天烧烤
    "1303": Rule("enforcement", (3, WD)),  # 餐饮油烟
    "1304": Rule("police", (1, WD)),  # 违规养犬
    # Social services: the street's own department.
    "1101": Rule("population", (3, WD)),  # 流动人口登记
    "1102": Rule("population", (5, WD)),  # 群租房
    "1103": Rule("population", (2, WD)),  # 出租房屋安全隐患
    "1401": Rule("mediation", (3, WD)),  # 邻里纠纷
    "1402": Rule("community", (5, WD)),  # 物业纠纷
    "1403": Rule("mediation", (5, WD)),  # 劳资纠纷
    "1404": Rule("safety", (2, WH), (1, NH), (1, NH)),  # 非法集会
    "1501": Rule("police", (1, WD)),  # 治安隐患
    "1502": Rule("police", (2, WH)),  # 可疑人员
    "1503": Rule("police", (1, NH), (1, NH), (1, NH)),  # 打架斗殴
    "1601": Rule("community", (2, WD)),  # 政策咨询
    "1602": Rule("community", (5, WD)),  # 老旧小区设施
    "1603": Rule("community", (10, WD)),  # 便民设施需求
    "1701": Rule("community", (5, WD), (1, WD)),  # 困难群众救助
    "1702": Rule("community", (1, WD)),  # 独居老人关怀
    "1703": Rule("community", (5, WD)),  # 残疾人帮扶
    "1704": Rule("community", (1, WD)),  # 流浪乞讨救助
}

# Every stage but handle, per urgency.
STAGE_DEFAULTS: dict[str, dict[str, Limit]] = {
    Urgency.NORMAL: {
        Stage.VERIFY: (1, WH),
        Stage.OPEN: (1, WH),
        Stage.DISPATCH: (1, WH),
        Stage.ACCEPT: (2, WH),
        Stage.CHECK: (4, WH),
        Stage.CLOSE: (1, WD),
    },
    Urgency.URGENT: {
        Stage.VERIFY: (1, WH),
        Stage.OPEN: (1, WH),
        Stage.DISPATCH: (1, WH),
        Stage.ACCEPT: (1, WH),
        Stage.CHECK: (2, WH),
        Stage.CLOSE: (1, WD),
    },
    Urgency.CRITICAL: {
        Stage.VERIFY: (1, NH),
        Stage.OPEN: (1, NH),
        Stage.DISPATCH: (1, NH),
        Stage.ACCEPT: (1, NH),
        Stage.CHECK: (2, NH),
        Stage.CLOSE: (1, WD),
    },
}


def hours(limit: Limit) -> int:
    """A limit in hours, a working day counting as 8, for comparing limits.

    A natural hour never lasts longer on the clock than a working hour, so a limit in
    natural hours that is no more than one in working hours is never looser.
    """
    amount, unit = limit
    return amount * HOURS_PER_WORK_DAY if unit == WD else amount


def _halve(limit: Limit) -> Limit:
    amount, unit = limit
    if unit == WD and amount == 1:
        return (HOURS_PER_WORK_DAY // 2, WH)
    return ((amount + 1) // 2, unit)


def handle_limit(category_code: str, urgency: str) -> Limit:
    rule = _rule(category_code)
    urgent = rule.urgent or _halve(rule.handle)
    if urgency == Urgency.NORMAL:
        return rule.handle
    if urgency == Urgency.URGENT:
        return urgent
    if urgency == Urgency.CRITICAL:
        return rule.critical or (min(2, hours(urgent)), NH)
    raise ValueError(f"unknown urgency {urgency!r}")


def limits_for(category_code: str, urgency: str) -> dict[str, list[int | str]]:
    """CategoryPolicy.limits for a 小类 and urgency: {stage: [amount, unit]}."""
    handle = handle_limit(category_code, urgency)
    defaults = STAGE_DEFAULTS[urgency]
    return {
        stage: list(handle if stage == Stage.HANDLE else defaults[stage]) for stage in Stage.values
    }


def department_kind_for(category_code: str, urgency: str) -> tuple[str, str]:
    """(principle, department kind) that a case of this 小类 is dispatched to first.

    Reads the tables only. Urgency does not change the route today; it is taken so that a
    caller need not know that.
    """
    if urgency not in Urgency.values:
        raise ValueError(f"unknown urgency {urgency!r}")
    rule = _rule(category_code)
    if kind_of(category_code) == COMPONENT:
        return CategoryPolicy.Principle.OWNER.value, rule.kind
    return CategoryPolicy.Principle.LOCALITY.value, rule.kind


def seed_policies() -> int:
    """Seed the catalogue, then a policy for every 小类 and urgency; return how many.

    Updates by (category, urgency), so running it again changes nothing, and it puts back
    the defaults over any edits made since.
    """
    with transaction.atomic():
        seed_categories()
        categories = Category.objects.in_bulk(list(SUB_BY_CODE), field_name="code")
        count = 0
        for code, category in categories.items():
            for urgency in Urgency.values:
                principle, kind = department_kind_for(code, urgency)
                CategoryPolicy.objects.update_or_create(
                    category=category,
                    urgency=urgency,
                    defaults={
                        "principle": principle,
                        "department_kind": kind,
                        "limits": limits_for(code, urgency),
                    },
                )
                count += 1
    return count


def _rule(category_code: str) -> Rule:
    try:
        return RULES[category_code]
    except KeyError:
        raise KeyError(f"no routing rule for category {category_code!r}") from None
