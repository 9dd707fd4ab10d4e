"""Word lists for the synthetic demo population (population.demo). None of it is real data."""

import random
from itertools import accumulate

# Weights of five-year age bands 0–4 … 95–99, roughly the shape of Beijing's 2020 census.
AGE_WEIGHTS = tuple(
    enumerate(
        (4.0, 4.2, 3.6, 3.2, 5.5, 8.0, 10.0, 9.0, 7.5, 7.0, 7.3, 7.0, 6.0, 5.5, 4.0, 2.6, 1.8,
         1.0, 0.35, 0.1)
    )
)  # fmt: skip

# Home areas of the floating population (county-level codes of GB/T 2260).
FLOATING_AREAS = (
    "130102", "130202", "130603", "131002", "120101", "140105", "150102", "210102", "220102",
    "230102", "320102", "330102", "340102", "350102", "360102", "370102", "370202", "371302",
    "410102", "410302", "411302", "420102", "430102", "440104", "450102", "500103", "510104",
    "530102", "610102", "620102",
)  # fmt: skip

PHONE_PREFIXES = tuple(
    [f"13{d}" for d in range(10)]
    + ["150", "151", "152", "153", "155", "156", "157", "158", "159", "166", "176", "177"]
    + [f"18{d}" for d in range(10)]
    + ["191", "198", "199"]
)

_SURNAMES = (
    ("王", 72), ("李", 70), ("张", 68), ("刘", 55), ("陈", 46), ("杨", 32), ("黄", 23),
    ("赵", 21), ("吴", 20), ("周", 19), ("徐", 15), ("孙", 15), ("马", 14), ("朱", 13),
    ("胡", 12), ("郭", 12), ("何", 11), ("高", 11), ("林", 10), ("罗", 10), ("郑", 9),
    ("梁", 9), ("谢", 7), ("宋", 7), ("唐", 7), ("许", 6), ("韩", 6), ("冯", 6), ("邓", 6),
    ("曹", 6), ("彭", 5), ("曾", 5), ("肖", 5), ("田", 5), ("董", 5), ("袁", 5), ("潘", 4),
    ("于", 4), ("蒋", 4), ("蔡", 4), ("余", 4), ("杜", 4), ("叶", 4), ("程", 4), ("苏", 3),
    ("魏", 3), ("吕", 3), ("丁", 3), ("任", 3), ("沈", 3), ("姚", 3), ("卢", 3), ("姜", 3),
    ("崔", 3), ("钟", 3), ("谭", 2), ("陆", 2), ("汪", 2), ("范", 2), ("金", 2), ("石", 2),
    ("廖", 2), ("贾", 2), ("夏", 2), ("韦", 2), ("付", 2), ("方", 2), ("白", 2), ("邹", 2),
    ("孟", 2), ("熊", 2), ("秦", 2), ("邱", 2), ("江", 2), ("尹", 2), ("薛", 2), ("闫", 2),
    ("段", 2), ("雷", 2), ("侯", 2), ("龙", 1), ("史", 1), ("黎", 1), ("贺", 1), ("顾", 1),
    ("毛", 1), ("郝", 1), ("龚", 1), ("邵", 1), ("万", 1), ("钱", 1), ("欧阳", 1), ("司马", 1),
)  # fmt: skip
_SURNAME_CHARS = tuple(s for s, _ in _SURNAMES)
_SURNAME_CUM = tuple(accumulate(float(w) for _, w in _SURNAMES))

_MALE = "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘"  # noqa: E501
_FEMALE = "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"  # noqa: E501


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_CHARS, cum_weights=_SURNAME_CUM)[0]


def given_name(rng: random.Random, male: bool) -> str:
    chars = _MALE if male else _FEMALE
    if rng.random() < 0.3:
        return rng.choice(chars)
    return rng.choice(chars) + rng.choice(chars)


# (kind, weight, first two characters of the credit code: registration authority + category)
ORG_KINDS = (
    ("shop", 45, "92"),  # 个体工商户
    ("enterprise", 40, "91"),  # 企业
    ("social", 5, "52"),  # 民办非企业单位
    ("school", 3, "12"),  # 事业单位
    ("government", 3, "11"),  # 机关
    ("commercial_building", 4, "91"),
)

_WORDS = "华创鑫远恒泰宏达博瑞盛通联智汇嘉天新美安融信和金中正"
_SHOPS = (
    "便利店", "面馆", "水果店", "理发店", "洗衣店", "五金店", "早点铺", "烟酒店", "干洗店",
    "修车铺", "花店", "药店", "包子铺", "菜店", "眼镜店", "快递驿站",
)  # fmt: skip
_INDUSTRIES = (
    "科技", "商贸", "文化传媒", "餐饮管理", "物业管理", "建筑工程", "咨询", "网络科技",
    "信息技术", "教育科技",
)  # fmt: skip
_SOCIAL = ("志愿者协会", "养老服务中心", "社会工作事务所", "文化促进会", "邻里互助会")
_SCHOOLS = ("小学", "中学", "幼儿园", "实验学校")
_OFFICES = ("市场监督管理所", "城管执法队", "派出所", "税务所", "卫生服务站")
_BUILDINGS = ("国际大厦", "中心", "广场", "商务楼", "写字楼")


def org_name(rng: random.Random, kind: str) -> str:
    two = rng.choice(_WORDS) + rng.choice(_WORDS)
    if kind == "shop":
        return f"{surname(rng)}记{rng.choice(_SHOPS)}"
    if kind == "enterprise":
        return f"北京{two}{rng.choice(_INDUSTRIES)}有限公司"
    if kind == "social":
        return f"朝阳区{two}{rng.choice(_SOCIAL)}"
    if kind == "school":
        return f"北京市朝阳区{two}{rng.choice(_SCHOOLS)}"
    if kind == "government":
        return f"朝阳区{two}{rng.choice(_OFFICES)}"
    return f"{two}{rng.choice(_BUILDINGS)}"


CARE_SOURCES = {
    "elderly_alone": "街道民政科入户走访",
    "disabled": "区残联名册",
    "low_income": "区民政局低保台账",
    "hardship": "区民政局特困供养名册",
    "veteran": "区退役军人事务局",
    "left_behind_child": "社区入户登记",
}
