"""The demo category catalogue: a two-level tree of 大类 and 小类, as data, and its seed.

The 大类 come from two sources. Digital city management (CJ/T 214) splits city problems
into components (部件: things with an owner, such as a manhole cover) and events (事件:
things that happen somewhere, such as exposed garbage); its groups are codes 01–10. The
2010 policy (京朝发〔2010〕18号, section 三(一)1) classifies what the grids watch as 人口状况,
市政管理, 城市秩序, 社会稳定, 治安秩序, 为民服务 and 扶贫帮困; those are codes 11–17. 市政管理
holds the utility networks, which have owners, so it is a component group; 城市秩序 holds
nuisances that happen somewhere, so it is an event group; the other five are social
services. 市容环境 exists twice: 03 for components (bins, toilets), 06 for events (garbage).

Every 小类 has a four-digit code: its 大类's code and two digits. Its kind is its 大类's.
Radius and window say how near and how recent an open case of the same 小类 must be to be
suggested as a duplicate. Default routing and time limits live in dispatch.policies.
"""

from typing import NamedTuple

from django.db import transaction

from .models import Category

COMPONENT = Category.Kind.COMPONENT.value
EVENT = Category.Kind.EVENT.value
SERVICE = Category.Kind.SERVICE.value


class Group(NamedTuple):
    """A 大类."""

    code: str  # two digits
    name: str
    name_en: str
    kind: str


class Sub(NamedTuple):
    """A 小类: what cases are filed under."""

    code: str  # the 大类's code and two digits
    name: str
    name_en: str
    radius_m: int  # duplicate suggestions: this near …
    window_h: int  # … and this recent
    examples: str


GROUPS: tuple[Group, ...] = (
    # Components (部件), CJ/T 214.
    Group("01", "公用设施", "Public facilities", COMPONENT),
    Group("02", "道路交通", "Roads and traffic", COMPONENT),
    Group("03", "市容环境", "Sanitation facilities", COMPONENT),
    Group("04", "园林绿化", "Trees and green space", COMPONENT),
    Group("05", "房屋土地", "Buildings and land", COMPONENT),
    # Events (事件), CJ/T 214.
    Group("06", "市容环境", "City appearance and environment", EVENT),
    Group("07", "宣传广告", "Advertising", EVENT),
    Group("08", "施工管理", "Construction", EVENT),
    Group("09", "突发事件", "Emergencies", EVENT),
    Group("10", "街面秩序", "Street order", EVENT),
    # The origin document's groups (京朝发〔2010〕18号).
    Group("11", "人口状况", "Population", SERVICE),
    Group("12", "市政管理", "Municipal utilities", COMPONENT),
    Group("13", "城市秩序", "City order", EVENT),
    Group("14", "社会稳定", "Social stability", SERVICE),
    Group("15", "治安秩序", "Public security", SERVICE),
    Group("16", "为民服务", "Services for residents", SERVICE),
    Group("17", "扶贫帮困", "Poverty relief and assistance", SERVICE),
)

SUBCATEGORIES: tuple[Sub, ...] = (
    # 01 公用设施
    Sub("0101", "井盖缺失", "Missing manhole cover", 20, 72, "井盖丢失、井口敞开"),
    Sub("0102", "井盖破损", "Damaged manhole cover", 20, 72, "井盖破裂、下沉、松动异响"),
    Sub("0103", "路灯不亮", "Street light out", 50, 72, "路灯夜间不亮或白天长明"),
    Sub("0104", "消火栓损坏", "Damaged fire hydrant", 30, 168, "消火栓漏水、缺件、被圈占"),
    Sub("0105", "雨水箅子堵塞", "Blocked drain grate", 30, 72, "雨水箅子缺失或被垃圾堵塞"),
    # 02 道路交通
    Sub("0201", "交通护栏损坏", "Damaged traffic barrier", 50, 72, "隔离护栏倾倒、断裂、缺失"),
    Sub("0202", "公交站亭损坏", "Damaged bus shelter", 30, 168, "站亭玻璃破碎、顶棚脱落"),
    Sub("0203", "道路破损", "Damaged road surface", 50, 168, "路面坑槽、步道砖松动缺失"),
    Sub("0204", "交通信号灯故障", "Faulty traffic light", 30, 24, "信号灯不亮、常黄闪"),
    Sub("0205", "交通标志损坏", "Damaged traffic sign", 50, 168, "标志牌倾斜、被遮挡、缺失"),
    # 03 市容环境 (components)
    Sub("0301", "垃圾桶破损", "Damaged litter bin", 20, 168, "果皮箱、垃圾桶破损或缺失"),
    Sub("0302", "公厕设施损坏", "Damaged public toilet", 30, 72, "公厕无水、设施损坏、不开放"),
    Sub("0303", "分类桶站损坏", "Damaged sorting station", 30, 168, "垃圾分类桶站破损、缺桶"),
    # 04 园林绿化
    Sub("0401", "树木倒伏", "Fallen tree", 30, 24, "行道树倒伏、断枝悬挂"),
    Sub("0402", "绿化设施损坏", "Damaged park fixtures", 50, 168, "绿地护栏、花坛、树池破损"),
    Sub("0403", "毁绿占绿", "Damaged or occupied green space", 50, 168, "绿地被硬化、圈占、碾压"),
    # 05 房屋土地
    Sub("0501", "外立面坠落隐患", "Loose facade", 30, 72, "外墙皮、空调架、窗户松动"),
    Sub("0502", "危险房屋", "Dangerous building", 30, 720, "墙体开裂、房屋倾斜、屋顶漏塌"),
    Sub("0503", "地下空间违规使用", "Misused basement", 30, 720, "人防工程、地下室住人或经营"),
    # 06 市容环境 (events)
    Sub("0601", "暴露垃圾", "Exposed garbage", 50, 24, "楼门口、路边堆放的袋装垃圾"),
    Sub("0602", "积存垃圾渣土", "Accumulated waste and muck", 50, 168, "长期积存的垃圾、建筑渣土"),
    Sub("0603", "道路不洁", "Dirty road", 100, 24, "路面油污、泥土、散落垃圾"),
    Sub("0604", "绿地脏乱", "Littered green space", 50, 48, "绿地内垃圾、杂物、枯枝"),
    Sub("0605", "道路遗撒", "Spillage on the road", 200, 24, "运输车辆遗撒渣土、砂石"),
    Sub("0606", "露天焚烧", "Open burning", 200, 12, "焚烧垃圾、树叶、杂物"),
    Sub("0607", "乱堆物料", "Materials piled in public", 50, 168, "公共区域堆放杂物、废旧家具"),
    # 07 宣传广告
    Sub("0701", "非法小广告", "Illegal flyers", 50, 72, "乱张贴、涂写、喷涂的小广告"),
    Sub("0702", "违规户外广告", "Unauthorised outdoor ad", 50, 720, "未经审批的广告牌、灯箱"),
    Sub("0703", "牌匾标识破损", "Damaged shop sign", 30, 168, "门店牌匾破损、有坠落风险"),
    Sub("0704", "街头散发广告", "Leafleting", 100, 12, "路口、地铁口散发商业传单"),
    # 08 施工管理
    Sub("0801", "施工扰民", "Construction disturbance", 200, 12, "夜间施工噪声、强光扰民"),
    Sub("0802", "施工废弃料", "Construction waste", 100, 168, "完工后遗留的建筑垃圾、废料"),
    Sub("0803", "违法建设", "Illegal construction", 100, 720, "私搭乱建、违规加层、圈地建房"),
    Sub("0804", "工地扬尘", "Construction dust", 200, 24, "裸土未苫盖、车辆带泥上路"),
    Sub("0805", "道路挖掘未恢复", "Unrestored road works", 100, 168, "开挖未围挡、完工未恢复路面"),
    # 09 突发事件
    Sub("0901", "燃气泄漏", "Gas leak", 100, 6, "闻到燃气异味、燃气管线破损"),
    Sub("0902", "积水", "Waterlogging", 200, 12, "降雨后道路、桥下、小区积水"),
    Sub("0903", "火灾隐患", "Fire hazard", 50, 72, "楼道堆物、堵塞消防通道、电动车入户充电"),
    Sub("0904", "电梯困人", "Person trapped in a lift", 30, 6, "电梯故障困人"),
    # 10 街面秩序
    Sub("1001", "占道经营", "Street stall on the road", 100, 12, "摊贩占用道路、人行道摆摊"),
    Sub("1002", "无照经营游商", "Unlicensed hawker", 200, 12, "流动商贩推车叫卖、无照经营"),
    Sub("1003", "店外经营", "Trading outside the shop", 50, 24, "商户在店门外摆放商品、设摊"),
    Sub("1004", "违规停车", "Illegal parking", 50, 12, "机动车占用人行道、消防通道停放"),
    Sub("1005", "共享单车乱停放", "Badly parked shared bikes", 100, 24, "共享单车堆积、占压盲道"),
    Sub("1006", "废品收购占道", "Scrap collection on the road", 50, 72, "废品回收点占道堆放、分拣"),
    # 11 人口状况
    Sub("1101", "流动人口登记", "Migrant registration", 30, 720, "新来人员未登记居住信息"),
    Sub("1102", "群租房", "Overcrowded rental", 30, 720, "一套住房隔断分租、人均面积过小"),
    Sub("1103", "出租房屋安全隐患", "Unsafe rental", 30, 168, "出租房私拉电线、违规用气"),
    # 12 市政管理
    Sub("1201", "供水管线漏水", "Leaking water main", 100, 24, "路面冒水、水表井漏水"),
    Sub("1202", "污水冒溢", "Sewage overflow", 100, 24, "污水井冒水、化粪池外溢"),
    Sub("1203", "供暖不热", "Insufficient heating", 50, 72, "供暖季室温不达标、暖气不热"),
    Sub("1204", "停水停电", "Water or power outage", 300, 12, "小区、楼宇无计划停水停电"),
    # 13 城市秩序
    Sub("1301", "噪声扰民", "Noise nuisance", 200, 12, "商铺喇叭、娱乐场所、广场舞噪声"),
    Sub("1302", "露天烧烤", "Open-air barbecue", 100, 12, "店外、路边露天烧烤"),
    Sub("1303", "餐饮油烟", "Restaurant fumes", 100, 168, "餐馆油烟直排、无净化设施"),
    Sub("1304", "违规养犬", "Dog-keeping violation", 100, 72, "遛狗不拴绳、饲养禁养犬"),
    # 14 社会稳定
    Sub("1401", "邻里纠纷", "Neighbour dispute", 30, 168, "漏水、噪声、占用公共空间引发矛盾"),
    Sub("1402", "物业纠纷", "Property management dispute", 100, 720, "业主与物业收费、服务矛盾"),
    Sub("1403", "劳资纠纷", "Wage dispute", 100, 168, "拖欠工资、劳动报酬争议"),
    Sub("1404", "非法集会", "Illegal gathering", 500, 12, "未经许可的聚集、集会"),
    # 15 治安秩序
    Sub("1501", "治安隐患", "Public security hazard", 100, 72, "可疑物品、门禁损坏、监控盲区"),
    Sub("1502", "可疑人员", "Suspicious person", 200, 12, "可疑人员在楼宇、小区内徘徊"),
    Sub("1503", "打架斗殴", "Fight", 200, 6, "街头、店内打架斗殴"),
    # 16 为民服务
    Sub("1601", "政策咨询", "Policy enquiry", 10, 24, "社保、医保、办证等咨询"),
    Sub("1602", "老旧小区设施", "Old estate facilities", 30, 168, "楼道灯不亮、单元门损坏"),
    Sub("1603", "便民设施需求", "Request for amenities", 100, 720, "增设座椅、车棚、晾衣架"),
    # 17 扶贫帮困
    Sub("1701", "困难群众救助", "Hardship assistance", 30, 720, "低保、临时救助申请与走访"),
    Sub("1702", "独居老人关怀", "Elderly living alone", 30, 168, "独居老人多日未出门、需探视"),
    Sub("1703", "残疾人帮扶", "Disability support", 30, 720, "残疾人出行、就业、辅具需求"),
    Sub("1704", "流浪乞讨救助", "Help for rough sleepers", 100, 24, "街头流浪、露宿人员需救助"),
)

GROUP_BY_CODE: dict[str, Group] = {g.code: g for g in GROUPS}
SUB_BY_CODE: dict[str, Sub] = {s.code: s for s in SUBCATEGORIES}


def kind_of(code: str) -> str:
    """The kind (event/component/service) of a 大类 or 小类, from the table."""
    return GROUP_BY_CODE[code[:2]].kind


def seed_categories() -> int:
    """Write the catalogue by code, updating rows in place; return the number of 小类.

    Names, examples and duplicate settings follow the table. ``active`` is only set on
    rows this creates, so a category an administrator switched off stays off.
    """
    with transaction.atomic():
        parents: dict[str, Category] = {}
        for sort, group in enumerate(GROUPS, start=1):
            parents[group.code], _ = Category.objects.update_or_create(
                code=group.code,
                defaults={
                    "name": group.name,
                    "name_en": group.name_en,
                    "parent": None,
                    "kind": group.kind,
                    "examples": _group_examples(group.code),
                    "sort": sort,
                },
            )
        for sub in SUBCATEGORIES:
            Category.objects.update_or_create(
                code=sub.code,
                defaults={
                    "name": sub.name,
                    "name_en": sub.name_en,
                    "parent": parents[sub.code[:2]],
                    "kind": kind_of(sub.code),
                    "examples": sub.examples,
                    "duplicate_radius_m": sub.radius_m,
                    "duplicate_window_hours": sub.window_h,
                    "sort": int(sub.code[2:]),
                },
            )
    return len(SUBCATEGORIES)


def _group_examples(group_code: str) -> str:
    return "、".join(s.name for s in SUBCATEGORIES if s.code[:2] == group_code)
