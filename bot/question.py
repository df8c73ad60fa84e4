"""What a question asks: the kind of answer, the unit, and who/when/where it is about.

Plain functions over the question text; the answerer uses them to pick sentences and to refuse
evidence about another body, year, version or place.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache

from ingest.tokens import STOPWORDS, normalize

# Sentence scoring normalises the same passage sentences once per question term; a question
# touches a few hundred sentences, so the cache stays small.
normalized = lru_cache(maxsize=4096)(normalize)

# Order matters: the first matching rule names the kind.
_KINDS = [
    ("article", r"第几|哪一条规定|哪条规定|哪一条法律|哪一款"),
    ("year", r"哪一年|哪年|何年|什么年份|哪一年度"),
    ("date", r"哪天|哪一天|何时|什么时候|几月几日|什么日期|哪日|日期|从何时|哪个日子"),
    ("frequency", r"(多久|多长时间|隔多久).{0,8}一次|频率|多久.{0,3}(升挂|举行|召开)"),
    ("duration", r"多长时间|多久|多长|期限|几天|多少天|多少日|几日|几个月|多少个月|多少个?工作日|几年|多少年"
                 r"|任期"),
    ("ratio", r"多大比例|比例|几分之几|百分之多少|多少比例"),
    ("count", r"多少|几[个件家名条场篇次项位种类岁]|几周岁|数量|数目|几次|几届|几名|几家|几位|几个"),
    ("who", r"谁|哪位|哪个机关|哪个机构|哪个部门|哪一级|哪些机关|什么机关|什么机构|哪个单位|哪家|由哪"),
    ("yesno", r"是否|有没有|能不能|可不可以|能否|吗[？?]?$"),
]
_SEVERAL = re.compile(r"各自|分别|各是|哪些|哪几|都有哪|以及")
_SUBQUESTION = re.compile(r"[？?]|，其中|；|另外")
_UNIT = re.compile(r"(?:多少|几)(个)?(工作日|场次|[件家名条场篇次项位种类天日月年元人届号]|钱|岁)")
_UNIT_ALIASES = {"天": "日天", "日": "日天", "钱": "元", "人": "人名", "名": "名人",
                 "场次": "场", "场": "场", "岁": "岁周"}
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_VERSION = re.compile(r"版|修订前|修正前|修改前|原来|旧|最初|刚通过|当初|那一版|首次")
_LATEST = re.compile(r"最近|最新|最后一次|现行|现在施行|目前")
_EARLIEST = re.compile(r"最初|最早|首次|第一次|当初|原先|刚通过")
_TITLE = re.compile(r"《([^》]{2,40})》")
_FOLLOWUP_START = re.compile(r"^(那|那么|那如果|那要是|这个|这种|这|该|此|它|其|上述|还有|另外|同样|如果是)")
_PLACE_SUFFIX = re.compile(r"(省|市|县|自治区|自治州|区)$")
_PROVINCES = set("北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 "
                 "湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 "
                 "澳门".split())
_NOT_PLACES = {"全国", "地方", "各级", "本级", "中国", "中华人民共和国", "国家", "城乡"}

# Bodies a question may name; evidence about another body does not answer it.
BODIES = {
    "政协": ("政协", "政治协商会议", "政协委员会"),
    "人大": ("人大", "人民代表大会"),
    "国务院": ("国务院",),
    "监察": ("监察", "监委"),
    "法院": ("法院", "审判"),
    "检察院": ("检察院", "检察"),
}
_BODY_IN_QUESTION = {
    "政协": re.compile(r"政协|政治协商会议"),
    "人大": re.compile(r"人大|人民代表大会"),
    "国务院": re.compile(r"国务院"),
    "监察": re.compile(r"监察|监委"),
    "法院": re.compile(r"法院"),
    "检察院": re.compile(r"检察院"),
}
# "像人大代表那样": a body named only for comparison is not what the question is about.
_COMPARISON = re.compile(r"(像|如同|和|跟|与|同)([^，。？?]{1,12}?)(那样|一样|相同|似的)")
_QUESTION_WORDS = set("多少 几 什么 哪 哪些 哪个 哪位 谁 怎么 怎样 如何 是否 吗 呢 多久 多长 何时 "
                      "哪天 哪年 哪一年 第几条 请问 多长时间 多大 怎么办 什么样 几个 几年 多少年 "
                      "几天 多少天 第几 哪一天 哪一类 哪类 哪种 几类".split())
# Words a member says around the question that no document will echo.
_FILLER = set("如果 里面 一名 一份 对方 现在 其中 那样 时要 内要 天起 情况 要求 需要 应该 "
              "得 先 还 还能 能 给 咱们 方面 具体 原话 大概 这部 那部 这个 那个 这项 那项 时候 好几个 同一个 一起 "
              "被评 出去 拿下 起来 加起来 是从 开始 搞 光 就是 到底 究竟 一下子 怎么说 现行 去年 今年 "
              "一共 总共 拿到 那场 那次 开了个 来定 主要 "
              "的话 程序 上得 办不完 当初 最初 最近 一次 那次 那版 这次 分别 各自 另外 "
              "加进去 进去 规定 按规定 明文规定 算不算 不算 指 叫 改叫 说 讲 提到 属于 "
              "我 我们 你 他 她 他们 要 才 就 又 再 呢 吗 啊".split())
# Characters jieba leaves stuck to a word in speech: 国歌法是 -> 国歌法, 首单加 -> 首单.
_EDGE_LEADING = "是被在从把将给向对"
_EDGE_TRAILING = "是的了时要加起来呢吗啊"
# A question word and the words the documents use for it.
SYNONYMS = {
    # 以内 marks a deadline ("二十四小时以内通知"), not how long something may last.
    "最长": ("最长", "不得超过", "不超过"),
    "最多": ("最多", "不得超过", "不超过", "以下"),
    "至多": ("至多", "不得超过", "不超过", "以下"),
    "上限": ("上限", "不得超过", "不超过", "以内"),
    "最晚": ("最晚", "以内", "之日起"),
    "至少": ("至少", "不少于", "不低于", "以上"),
    "最少": ("最少", "不少于", "不低于", "以上"),
    "最低": ("最低", "不少于", "不低于", "以上", "年满"),
    "监委": ("监委", "监察委员会", "监察机关"),
    "人大": ("人大", "人民代表大会"),
    "全国人大": ("全国人大", "全国人民代表大会"),
    "人大代表": ("人大代表", "人民代表大会代表", "代表"),
    "人大常委会": ("人大常委会", "人民代表大会常务委员会", "常务委员会"),
    "全国人大常委会": ("全国人大常委会", "全国人民代表大会常务委员会"),
    "人代会": ("人代会", "人民代表大会会议"),
    "政协": ("政协", "政治协商会议"),
    "全国政协": ("全国政协", "中国人民政治协商会议全国委员会"),
    "市政协": ("市政协", "政治协商会议"),
    "政协委员": ("政协委员", "政治协商会议各级委员会委员", "委员"),
    "政协机关": ("政协机关", "政治协商会议各级委员会机关"),
    "修宪": ("修宪", "宪法修正案", "修改宪法"),
    "国企": ("国企", "国有企业"),
    "开始施行": ("开始施行", "施行"),
    "岁": ("岁", "周岁"),
}


@dataclass
class QuestionInfo:
    text: str
    kind: str = "what"
    kinds: list[str] = field(default_factory=list)
    order: str = ""  # latest | earliest: which of several dated events is meant
    unit: str = ""
    years: list[int] = field(default_factory=list)
    version_year: int = 0
    titles: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    followup: bool = False
    several: bool = False  # asks for more than one thing: 各自, 分别, 哪些, two questions
    context_terms: list[str] = field(default_factory=list)  # from the earlier question
    focus: list[str] = field(default_factory=list)  # what the question word asks about
    focus_candidates: list[tuple[str, str]] = field(default_factory=list)
    focus_is_noun: bool = False
    stated: list[float] = field(default_factory=list)  # figures the question itself gives
    # Which analysis this is: work cached for a question (sentence scores) is shared by the
    # steps answering it, never by a later question, even the same text asked again.
    serial: int = field(default_factory=itertools.count(1).__next__, compare=False)


def analyze(question: str, history: list[str] | None = None) -> QuestionInfo:
    text = question.strip()
    info = QuestionInfo(text=text)
    info.kinds = question_kinds(text)
    info.kind = info.kinds[-1]
    info.order = ("latest" if _LATEST.search(text) else "earliest" if _EARLIEST.search(text)
                  else "")
    unit = _UNIT.search(text)
    info.unit = unit.group(2) if unit else ""
    info.years = sorted({int(y) for y in _YEAR.findall(text)})
    if info.years and _VERSION.search(text):
        info.version_year = info.years[0]
    info.titles = _TITLE.findall(text)
    info.places = places_in(text)
    info.bodies = bodies_named(text)
    info.terms = content_terms(text)
    info.focus_candidates = focus_candidates(text)
    info.focus, info.focus_is_noun = choose_focus(info.focus_candidates, lambda word: True)
    info.stated = stated_figures(text)
    info.followup = bool(history) and is_followup(text)
    info.several = len(info.kinds) > 1 or bool(_SEVERAL.search(text))
    return info


def bodies_named(text: str) -> list[str]:
    """Bodies the question is about, not those it only compares with."""
    about = _COMPARISON.sub("", text)
    return [b for b, rx in _BODY_IN_QUESTION.items() if rx.search(about)]


def question_kind(text: str) -> str:
    """The kind asked by the last clause that asks something (其中…是哪一类 -> what)."""
    kinds = question_kinds(text)
    return kinds[-1] if kinds else "what"


def question_kinds(text: str) -> list[str]:
    """One kind per sub-question: '哪天修订的？从哪天起施行？' -> [date, date]."""
    kinds = []
    for clause in _SUBQUESTION.split(text):
        kind = _clause_kind(clause)
        if kind:
            kinds.append(kind)
    return kinds or [_clause_kind(text) or "what"]


def _clause_kind(clause: str) -> str:
    for kind, pattern in _KINDS:
        if re.search(pattern, clause):
            return kind
    if re.search(r"什么|哪|怎么|如何|怎样", clause):
        return "what"
    return ""


def unit_chars(unit: str) -> str:
    """Measure words that count as the asked unit: 天 and 日 are one, 钱 is 元."""
    return _UNIT_ALIASES.get(unit, unit)


def places_in(text: str) -> list[str]:
    """Place names (jieba's `ns`), as stems: 淄博市 -> 淄博, so 'our city' texts still match."""
    from ingest.tokens import pos_tags

    found = []
    for word, flag in pos_tags(text):
        stem = _PLACE_SUFFIX.sub("", word)
        named = stem != word or stem in _PROVINCES  # 淄博市, 山东 — not jieba's guesses like 法里
        if flag == "ns" and named and len(stem) >= 2 and stem not in _NOT_PLACES:
            found.append(stem)
    return list(dict.fromkeys(found))


def content_terms(text: str, unique: bool = True) -> list[str]:
    """Words that carry the topic: no stopwords, question words or lone characters."""
    from ingest.tokens import words

    terms = []
    for tok in words(text):
        tok = _trim_edges(tok)
        if tok in _QUESTION_WORDS or tok in STOPWORDS or tok in _FILLER:
            continue
        if len(tok) == 1 and not tok.isdigit():
            continue
        terms.append(tok)
    return list(dict.fromkeys(terms)) if unique else terms


_ANCHOR = re.compile(r"《[^》]+》|[\u4e00-\u9fff]{2,}(?:法|条例|规定|办法|宪法|修正案)|政协|人大|"
                     r"国务院|监察|(?:19|20)\d{2}年|[\u4e00-\u9fff]{2,4}[省市县]")


def is_followup(text: str) -> bool:
    """Leans on the previous question: starts with 那/这个/该…, ends in a short …呢, or names
    nothing to anchor it (no law, body, place or year: '情况复杂的，最多还能延长多少天？')."""
    short = len(text) <= 14
    if _FOLLOWUP_START.search(text) or (short and text.rstrip("？?").endswith("呢")):
        return True
    return not _ANCHOR.search(text)


def mentions_body(text: str, body: str) -> bool:
    norm = normalized(text)
    return any(alias in norm for alias in BODIES.get(body, (body,)))


def merge_followup(q: QuestionInfo, history: list[str]) -> QuestionInfo:
    """A follow-up inherits what it leaves out: the kind, unit, names and topic of the earlier
    question ("那2024年呢？" asks the same thing about another year)."""
    if not history:
        return q
    prev = analyze(history[-1])
    if q.followup:
        if q.kind == "what" and len(q.terms) <= 3:
            q.kind, q.unit = prev.kind, q.unit or prev.unit
        q.bodies = list(dict.fromkeys(q.bodies + prev.bodies))
        q.places = q.places or prev.places
        q.titles = q.titles or prev.titles
        q.years = q.years or prev.years
        q.context_terms = [t for t in prev.terms if t not in q.terms]
    return q


def expand_query(text: str) -> str:
    """The question plus the documents' words for its abbreviations (人大 -> 人民代表大会)."""
    extra = [alias for short, aliases in SYNONYMS.items() if short in text and len(short) > 1
             for alias in aliases[1:] if alias not in text and len(alias) > 2]
    return f"{text} {' '.join(dict.fromkeys(extra))}" if extra else text


def _trim_edges(word: str) -> str:
    if len(word) == 2 and word[1] in "是的了":
        return word[0]  # 法是, 长的: a particle stuck to one character
    if len(word) > 2 and word[0] in _EDGE_LEADING:
        word = word[1:]
    while len(word) > 2 and word[-1] in _EDGE_TRAILING:
        word = word[:-1]
    return word


# Words that name no topic of their own: 数量, 时间 — "提案数量" asks about 提案.
_GENERIC = set("数量 数目 总数 人数 次数 时间 期限 日期 情况 内容 规定 要求 标准 方式 名称 名字 "
               "问题 事项 工作 单位 机关 机构 部门 人员 多少 比例 一款 一条 这条 这款 该款 该条 一句 这句 原文 原话 具体 "
               "口径".split())
_ASKING = re.compile(r"是谁|是多少|有多少|多少|几[个件家名条场篇次项位种类年天日月]?|什么|哪|多久|多长|"
                     r"何时|怎么|如何|是否|吗")


_NOUNISH = ("n", "l", "j", "vn", "an", "eng")
_FUNCTION_CHARS = set("能会要可用来去得着把被让给就都还也才人上下里中")


def focus_candidates(text: str) -> list[tuple[str, str]]:
    """Words before the question word of the last sub-question, nearest first, with their
    part of speech: what is asked about is among them ("秘书长是谁" -> 秘书长)."""
    from ingest.tokens import pos_tags

    clauses = [c for c in _SUBQUESTION.split(text) if _ASKING.search(c)]
    if not clauses:
        return []
    clause = clauses[-1]
    asking = _ASKING.search(clause)
    out = []
    # '多少场次协商', '几家工作室': a noun right after the question word is what is counted.
    after = re.match(r"(?:个|名|件|家|条|场次|场|篇|次|项|位|种|类)?([\u4e00-\u9fff“”]{2,8})",
                     clause[asking.end():])
    if after and (asking.group(0).endswith("多少") or asking.group(0).startswith("几")):
        for word, flag in pos_tags(after.group(1).strip("“”"))[:1]:
            if len(word) >= 2 and word not in _GENERIC and word not in STOPWORDS:
                out.append((word, "n" if flag.startswith("v") else flag))
    for word, flag in reversed(pos_tags(clause[:asking.start()])):
        word = _trim_edges(word)
        if (len(word) < 2 or word in _GENERIC or word in _FILLER or word in STOPWORDS
                or word in _QUESTION_WORDS or word.isdigit()):
            continue
        if len(word) == 2 and any(ch in _FUNCTION_CHARS for ch in word):
            continue  # 能管, 人用: jieba's splits of speech, not topics
        out.append((word, flag))
    return out


def choose_focus(candidates: list[tuple[str, str]], known) -> tuple[list[str], bool]:
    """The nearest noun — or a verb the documents use as a term (提案, 留置) — is the focus;
    `known(word)` says whether the documents use the word at all. Also: is it a noun (only a
    missing noun, a thing asked about, makes an answer miss the question)."""
    for word, flag in candidates:
        if flag.startswith(_NOUNISH):
            return [word], True
        if flag.startswith("v") and known(word):
            return [word], False
    return [], False


@lru_cache(maxsize=4096)
def aliases(term: str) -> tuple[str, ...]:
    """The term as documents write it: 国企改革 -> 国有企业改革, 党的领导 -> 中国共产党领导.
    Cached: sentence scoring asks it for every term of every sentence."""
    out = list(SYNONYMS.get(term, ()))
    for short, full in _EXPANSIONS.items():
        if short in term:
            out.append(term.replace(short, full))
    return tuple(out)


_EXPANSIONS = {"国企": "国有企业", "人大": "人民代表大会", "政协": "政治协商会议",
               "党的领导": "中国共产党领导", "监委": "监察委员会", "常委会": "常务委员会"}


def focus_found(term: str, text: str) -> bool:
    """The focus word, an alias of it, or (two characters) both characters close together."""
    from ingest.tokens import normalize

    text = normalize(text)
    if term in text or any(alias in text for alias in aliases(term)):
        return True
    if len(term) == 2:
        return re.search(re.escape(term[0]) + ".{0,2}" + re.escape(term[1]), text) is not None
    grams = [term[i:i + 2] for i in range(len(term) - 1)]
    return sum(g in text for g in grams) * 2 >= len(grams)


def stated_figures(text: str) -> list[float]:
    from bot.figures import find_figures

    return [f.value for f in find_figures(text)]


def split_subquestions(text: str) -> list[str]:
    """'哪天修订的？修订后从哪天起施行？' -> the two questions; one question stays whole."""
    parts = [p.strip("，,；; ") for p in re.split(r"(?<=[？?])|；|另外", text)]
    asking = [p for p in parts if p and _clause_kind(p)]
    return asking if len(asking) > 1 else [text]
