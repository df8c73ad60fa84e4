"""Small Chinese test documents made at test time, each about one topic nobody else mentions.

A topic word (e.g. 樱桃) appears in every paragraph of its document and in no other document, so
keyword search for it finds exactly that document's chunks.
"""

from __future__ import annotations

from pathlib import Path

TOPICS = ["樱桃种植", "氢能汽车", "古籍修复", "湿地保护", "社区食堂", "冰雪运动", "非遗剪纸",
          "海洋牧场", "乡村物流", "老旧电梯"]

_TEMPLATES = [
    "{year}年，市政协围绕{topic}开展专题调研，先后走访{n}个单位，召开座谈会{m}次，"
    "形成调研报告一篇，提出建议{k}条，有关部门逐条研究办理，推动{topic}工作取得新进展。",
    "委员们认为，{topic}关系群众切身利益，必须坚持问题导向，完善工作机制，"
    "加大资金投入，{year}年全市用于{topic}的资金达到{n}万元，比上年增长{k}个百分点。",
    "在{topic}协商座谈会上，{m}位委员先后发言，围绕人才培养、标准制定、监督评估等提出意见，"
    "市有关部门负责同志逐一回应，会后形成协商成果报送市委市政府，得到批示肯定。",
    "下一步，市政协将继续跟踪{topic}建议落实情况，组织委员开展民主监督，"
    "确保各项举措落地见效，为全市高质量发展贡献政协力量，让群众有更多获得感。",
]


def topic_text(topic: str, paragraphs: int = 2, year: int = 2024, title: str | None = None,
               seed: int = 0) -> str:
    """A short report: a `# ` title and `paragraphs` paragraphs (~170 chars, one chunk each) on `topic`."""
    body = []
    for i in range(paragraphs):
        sentences = (_TEMPLATES[i % len(_TEMPLATES)], _TEMPLATES[(i + 1) % len(_TEMPLATES)])
        body.append("".join(t.format(topic=topic, year=year, n=12 + 7 * i + seed,
                                     m=3 + i + seed, k=5 + 2 * i + seed) for t in sentences))
    return f"# {title or topic + '调研报告'}\n\n" + "\n\n".join(body) + "\n"


def write_topic(folder: Path, name: str, topic: str, **kwargs) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(topic_text(topic, **kwargs), encoding="utf-8")
    return path
