"""Why the bot did not answer: one code per check, rendered to Chinese only at the edge."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # nothing to read
    NO_PASSAGES = "no_passages"
    # the evidence contradicts the question: no model may answer over these
    DOCUMENT_NOT_IN_KB = "document_not_in_kb"  # the question names 《X》; the KB has no X
    RULE_FROM_NEWS = "rule_from_news"  # asks what a rule says; only news reports were found
    OTHER_BODY = "other_body"  # asks about one body (全国人大); the evidence is about another
    NATIONAL_VS_LOCAL = "national_vs_local"  # asks the national level; the evidence is local
    PLACE_MISSING = "place_missing"  # the place asked about is named nowhere in the evidence
    VERSION_MISSING = "version_missing"  # asks a version of a law the KB does not hold
    YEAR_MISSING = "year_missing"  # asks a year the evidence does not cover
    ONLY_STATED = "only_stated"  # the only figures found are those the question gives
    WRONG_UNIT = "wrong_unit"  # asks a count in one unit (名); the evidence counts another (家)
    # the evidence does not contradict, but does not answer either
    NO_FIGURE = "no_figure"  # asks a figure (多少, 多久); no sentence within reach states one
    LOW_CONFIDENCE = "low_confidence"  # the fitted judge is not sure enough


# Refused for doubt: the passages read may still help (the closest are shown; an LLM may read them).
DOUBT = frozenset({Reason.NO_FIGURE, Reason.LOW_CONFIDENCE})
# Contradictions: an LLM is not asked to answer over them either.
HARD = frozenset(Reason) - DOUBT

_TEXT = {
    Reason.NO_PASSAGES: "知识库中没有可检索的资料",
    Reason.DOCUMENT_NOT_IN_KB: "知识库中没有《{name}》，检索到的资料出自《{other}》",
    Reason.RULE_FROM_NEWS: "问题问的是规定，检索到的资料却是新闻报道，其中没有相关规定",
    Reason.OTHER_BODY: "资料说的是{other}，没有关于问题中“{name}”的内容",
    Reason.NATIONAL_VS_LOCAL: "问题问的是全国层面，资料说的是{other}的情况",
    Reason.PLACE_MISSING: "资料中没有关于“{name}”的内容",
    Reason.VERSION_MISSING: "知识库中只有该法的{other}年版本，没有{name}年版本",
    Reason.YEAR_MISSING: "资料中没有{name}年的相关内容",
    Reason.ONLY_STATED: "资料中只有问题里已经给出的数字，没有所问的数字",
    Reason.WRONG_UNIT: "资料中没有以“{name}”计的数字",
    Reason.NO_FIGURE: "检索到的资料中没有所问的数字",
    Reason.LOW_CONFIDENCE: "检索到的资料不足以可靠地回答这个问题",
}


_MISSING = "；检索到的资料中没有提到“{missing}”"


def render(reason: Reason | str, **names: str) -> str:
    """The reason as a sentence for members, with the names it mentions (and, when `missing`
    is given, the asked-about word no passage read mentions)."""
    text = _TEXT[Reason(reason)]
    try:
        said = text.format(**names)
    except KeyError:  # a name not given: say the sentence without it
        said = text.split("，")[0].format_map(_Blank())
    if names.get("missing") and names["missing"] not in said:
        said += _MISSING.format(missing=names["missing"])
    return said


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


_SHORT = {
    Reason.NO_PASSAGES: "无可检索资料",
    Reason.DOCUMENT_NOT_IN_KB: "所问文件未收录",
    Reason.RULE_FROM_NEWS: "只有新闻、没有规定",
    Reason.OTHER_BODY: "资料说的是别的机构",
    Reason.NATIONAL_VS_LOCAL: "问全国、资料是地方",
    Reason.PLACE_MISSING: "资料没有所问地方",
    Reason.VERSION_MISSING: "没有所问版本",
    Reason.YEAR_MISSING: "没有所问年份",
    Reason.ONLY_STATED: "只有问题中的数字",
    Reason.WRONG_UNIT: "单位不符",
    Reason.NO_FIGURE: "没有所问数字",
    Reason.LOW_CONFIDENCE: "依据不足",
}


def short(reason: Reason | str) -> str:
    """A few words for a table cell (the staff desk's queue); unknown codes as they are."""
    try:
        return _SHORT[Reason(reason)]
    except ValueError:
        return str(reason)
