"""The values a template's choice columns accept: each stored value with the spellings
government spreadsheets use for it (户籍 / 本地 / 常住 …). Lookups are lower-case."""

from grids.crs import CRS
from population.models import HousingUse, Hukou, Organisation, PersonStatus, Residence


def _choices(pairs: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """{stored value: spellings} → {spelling (lower-case): stored value}; the value itself and
    its Chinese label are accepted too."""
    out: dict[str, str] = {}
    for value, spellings in pairs.items():
        for s in (value, *spellings):
            out[s.lower()] = value
    return out


SEX = _choices({"M": ("男", "男性", "1", "male"), "F": ("女", "女性", "2", "0", "female")})
HUKOU = _choices(
    {
        Hukou.LOCAL: ("户籍", "户籍人口", "本地", "常住", "本市户籍"),
        Hukou.FLOATING: ("流动", "流动人口", "外地", "非本市户籍", "来京人员"),
    }
)
STATUS = _choices(
    {
        PersonStatus.LIVING: ("在住", "居住", "正常"),
        PersonStatus.MOVED_OUT: ("迁出", "已迁出", "离开"),
        PersonStatus.DECEASED: ("死亡", "已故", "去世"),
    }
)
USE = _choices(
    {
        HousingUse.OWNER: ("自住",),
        HousingUse.RENTED: ("出租", "租赁"),
        HousingUse.VACANT: ("空置", "闲置"),
        HousingUse.COMMERCIAL: ("商用", "商业", "经营"),
        HousingUse.OTHER: ("其他",),
    }
)
ORG_KIND = _choices({str(v): (str(label),) for v, label in Organisation.Kind.choices})
ORG_KIND.update(_choices({"shop": ("个体户", "门店", "商户"), "social": ("社团", "民办非企业")}))
RELATION = _choices(
    {
        Residence.Relation.OWNER: ("产权人", "业主", "房主"),
        Residence.Relation.TENANT: ("租户", "承租人", "租住"),
        Residence.Relation.FAMILY: ("家庭成员", "家属", "同住"),
        Residence.Relation.COLLECTIVE: ("集体户", "集体"),
    }
)
CRS_NAMES = _choices(
    {
        CRS.WGS84: ("wgs-84", "wgs 84", "gps", "4326", "epsg:4326"),
        CRS.GCJ02: ("gcj-02", "gcj", "高德", "腾讯", "火星", "火星坐标"),
        CRS.CGCS2000: ("cgcs 2000", "2000", "4490", "epsg:4490"),
    }
)
