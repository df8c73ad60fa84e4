"""Document metadata from the text and file name: title, date, year, issuer, kind, law history.

Pure functions over strings. Conservative by design: a field the text does not state clearly
stays empty ("" or 0), because a wrong date or issuer misleads filters and answers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import PurePath

from ingest.splitter import HEADER_END

CN_NUM = "零〇○一二三四五六七八九十百千万两"
_CN_DIGIT = {ch: i for i, ch in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0}

_ARABIC_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ISO_DATE = re.compile(r"(?<![\d-])((?:19|20)\d\d)[-/.](\d{1,2})[-/.](\d{1,2})(?![\d.])")
_CN_DATE = re.compile(r"([〇○零一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月"
                      r"\s*([一二三四五六七八九十]{1,3})\s*日")
_NAME_DATE = re.compile(r"\s*[（(]\s*((?:19|20)\d\d-\d{1,2}-\d{1,2})\s*[）)]\s*$")
_YEAR = re.compile(r"(?<![\d到至])((?:19|20)\d\d)\s*年(?!前|后|以前|以后|远景)")

# The verb that ends a history line; 修正案 is a document (an amendment), not the act 修正.
_EVENT = re.compile(r"修正(?!案)|修订|通过|批准|公布|发布|印发|施行|实施|执行|生效")
_EVENT_NAMES = {"印发": "发布", "实施": "施行", "执行": "施行", "生效": "施行"}
_EFFECTIVE = "施行"  # the day a text takes effect is not the day it was made
_EVENT_RANK = {"通过": 3, "修正": 3, "修订": 3, "批准": 2, "公布": 1, "发布": 1}

_BODY_CHARS = r"[^\s\d，。,、《》〈〉<>（）()：:“”]"
_COURT = re.compile(rf"({_BODY_CHARS}{{0,15}}?(?:人民法院|人民检察院))(?:第[{CN_NUM}\d]+届)?"
                    r"(?:审判委员会|检察委员会)")
_CONGRESS = re.compile(rf"({_BODY_CHARS}{{0,12}}?)(?:第[{CN_NUM}\d]+届)?"
                       r"(全国人民代表大会|人民代表大会)(常务委员会)?")
_CPPCC = re.compile(rf"中国人民政治协商会议第[{CN_NUM}\d]+届全国委员会(常务委员会)?")
_DECREE = re.compile(rf"((?:{_BODY_CHARS}|、){{2,40}}?)(?:令第|第[{CN_NUM}\d]+号令)")
_MEETING = re.compile(rf"({_BODY_CHARS}{{2,20}}?)(?:(?:19|20)\d\d年)?(?:第[{CN_NUM}\d]+次)?"
                      r"(?:常务|全体|部务|室务|局务|署务|委务|主任|办公)会议")
_ACTOR = re.compile(rf"^((?:{_BODY_CHARS}|、){{2,40}}?)(?:公告)?"
                    r"(?:审议批准|批准|发布|公布|通过|印发|修正|修订|$)")
_AMENDING_TITLE = re.compile(r"《([^《》〈〉]{2,40}?)关于")
_BODY_END = ("院", "部", "会", "委", "局", "署", "厅", "室", "中央", "政府", "行", "主席", "社",
             "办", "政协", "总局")

_DATELINE = re.compile(r"^(?P<src>[^\s，。,:：\d]{0,24}?)\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})"
                       r"\s*日\s*(?P<kind>讯|电)")
_SOURCE_LINE = re.compile(r"^(?:来源|来源于|稿件来源|文章来源)\s*[:：]\s*([^\s|｜]{2,20})")
_BYLINE = re.compile(r"(?:记者|通讯员).{0,40}报道|^\S{0,10}记者\s")
_TITLE_BODY = re.compile(r"^((?:中国人民政治协商会议|政协)?[\u4e00-\u9fff]{2,14}?"
                         r"(?:委员会|政协|人民政府|人民代表大会)(?:常务委员会)?)"
                         r"(?=关于|(?:19|20)\d\d|工作报告)")
_LAW_TITLE = re.compile(r"(?:法|条例|规定|办法|细则|规则|决定|解释)(?:[（(][^）)]*[）)])?$")
_FIRST_ARTICLE = re.compile(r"^第一条[\s\u3000]", re.M)
_LOCAL_SOURCES = {"本报", "本网", "本台", "本刊", "本站", "记者", "本报记者", "本网记者"}
HEAD_LINES = 8  # publication stamps and datelines sit in the first few lines of a page


@dataclass
class DocMeta:
    title: str
    date: str = ""  # YYYY-MM-DD, or "" when the text does not say
    year: int = 0
    issuer: str = ""
    kind: str = "document"  # law | news | report | document
    history: list[dict] = field(default_factory=list)  # {"date", "event", "text"} of a law


def describe(text: str, filename: str, title_hint: str | None = None) -> DocMeta:
    """Metadata for one document's normalised text; `filename` may carry a "(YYYY-MM-DD)"."""
    title = document_title(text, filename, title_hint)
    name_date = filename_date(filename)
    if HEADER_END in text:
        return _describe_law(text, title, name_date)
    return _describe_prose(text, title, name_date)


def document_title(text: str, filename: str, title_hint: str | None = None) -> str:
    """The `# ` first line, else the reader's title, else the file name without date and suffix."""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    if first.startswith("# ") and first[2:].strip():
        return first[2:].strip()
    if title_hint and title_hint.strip():
        return title_hint.strip()
    return _NAME_DATE.sub("", PurePath(filename).stem).strip()


def filename_date(filename: str) -> str:
    """"2020-06-20" from a name like "公职人员政务处分法(2020-06-20).md", else ""."""
    match = _NAME_DATE.search(PurePath(filename).stem)
    return _iso(*match.group(1).split("-")) if match else ""


def find_dates(text: str) -> list[str]:
    """Valid calendar dates in `text` as YYYY-MM-DD, in order of appearance."""
    found = [(m.start(), _iso(*m.groups())) for m in _ARABIC_DATE.finditer(text)]
    found += [(m.start(), _iso(*m.groups())) for m in _ISO_DATE.finditer(text)]
    found += [(m.start(), _iso(_cn_number(m[1], True), _cn_number(m[2]), _cn_number(m[3])))
              for m in _CN_DATE.finditer(text)]
    return [date for _, date in sorted(found) if date]


# --- laws -----------------------------------------------------------------------------------

def _describe_law(text: str, title: str, name_date: str) -> DocMeta:
    history = parse_history(text.split(HEADER_END, 1)[0])
    made = [h["date"] for h in history if h["event"] != _EFFECTIVE]
    dates = (made or [h["date"] for h in history]) + ([name_date] if name_date else [])
    # The file name's date is the version's date in the national database; the header may stop
    # at an older amendment, so the later of the two is the version date.
    date = max(dates) if dates else ""
    # A title like "最高人民法院、最高人民检察院关于…的解释" names every issuer; history lines
    # often name only one of them per line.
    issuer = _title_issuer(title) or history_issuer(history)
    return DocMeta(title, date, int(date[:4]) if date else 0, issuer, "law", history)


def parse_history(header: str) -> list[dict]:
    """Adoption/amendment lines of a law header: [{"date", "event", "text"}], in order."""
    entries: list[dict] = []
    for line in header.split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        dates = find_dates(line)
        if dates:
            entries.append({"date": max(dates), "event": "", "text": line})
        elif entries and entries[-1]["text"].count("《") > entries[-1]["text"].count("》"):
            entries[-1]["text"] += line  # a long decision title wrapped onto the next line
    for entry in entries:
        entry["event"] = history_event(entry["text"])
    return entries


def history_event(line: str) -> str:
    """通过 | 修正 | 修订 | 批准 | 公布 | 发布 | 施行 (or "") for one history line."""
    bare = _without_book_titles(line)
    if re.search(r"(?:公布|发布)施行", bare):
        return "公布" if "公布施行" in bare else "发布"
    events = _EVENT.findall(bare)
    if not events:
        return "通过" if "会议" in bare else ""  # "…审判委员会第1745次会议": adopted there
    event = _EVENT_NAMES.get(events[-1], events[-1])
    if event == "通过" and re.search(r"通过的《[^》]*修正案[^》]*》\s*[）)]?$", line):
        return "修正"  # "…会议通过的《宪法修正案》": the line records an amendment
    return event


def history_issuer(history: list[dict]) -> str:
    """The body named in the latest history line that names one (adoption before publication)."""
    ranked = sorted(history, key=lambda h: (h["event"] != _EFFECTIVE, h["date"],
                                            _EVENT_RANK.get(h["event"], 0)), reverse=True)
    for entry in ranked:
        issuer = issuer_of_line(entry["text"])
        if issuer:
            return issuer
    return ""


def issuer_of_line(line: str) -> str:
    """The issuing or adopting body a history line names, or ""."""
    rest = _without_dates(line)
    rest = re.sub(r"^[\s（(]*(?:根据)?\s*", "", rest)
    courts = _unique(_clean_body(m.group(1)) for m in _COURT.finditer(rest))
    if courts:
        return "、".join(courts)
    congress = _CONGRESS.search(_without_book_titles(rest))
    if congress:
        return _clean_body("".join(part or "" for part in congress.groups()))
    cppcc = _CPPCC.search(rest)
    if cppcc:
        return "中国人民政治协商会议全国委员会" + (cppcc.group(1) or "")
    if "主席令" in rest:
        return "中华人民共和国主席"
    for pattern in (_DECREE, _MEETING, _ACTOR):
        match = pattern.search(_without_book_titles(rest))
        if match:
            body = _clean_body(match.group(1))
            if _looks_like_body(body):
                return body
    # "《国务院关于修改…的决定》第一次修订": the amending body is the decision's author.
    decision = _AMENDING_TITLE.search(rest)
    body = _clean_body(decision.group(1)) if decision else ""
    return body if _looks_like_body(body) else ""


def _clean_body(body: str) -> str:
    body = re.sub(r"^[由经]", "", body.strip("、 "))  # "经国务院批准", "由最高人民法院公布"
    body = re.sub(r"中华人民共和国(?=\S)", "", body)
    return re.sub(r"会议$", "", body)  # "中共中央政治局会议审议批准" → 中共中央政治局


def _looks_like_body(body: str) -> bool:
    return (bool(re.fullmatch(r"[\u4e00-\u9fff、·]{2,40}", body)) and body.endswith(_BODY_END)
            and not re.search(r"关于|决定|修改|的", body) and not _EVENT.search(body))


def _title_issuer(title: str) -> str:
    """"最高人民法院、最高人民检察院关于…的解释" → the bodies before 关于."""
    match = re.match(r"^(.{2,60}?)关于", title)
    if not match:
        return ""
    bodies = [_clean_body(b) for b in re.split(r"[、\s]+", match.group(1)) if b]
    ok = bodies and all(_looks_like_body(b) for b in bodies)
    return "、".join(bodies) if ok else ""


# --- news, reports and other prose ----------------------------------------------------------

def _describe_prose(text: str, title: str, name_date: str) -> DocMeta:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    head, tail = lines[:HEAD_LINES], lines[-HEAD_LINES:]
    dateline = next((m for m in map(_DATELINE.match, head) if m), None)
    date = _dateline_date(dateline, head, text) if dateline else ""
    date = date or _stamp_date(head, tail) or name_date
    year = int(date[:4]) if date else _title_year(title)
    issuer = (_dateline_source(dateline) if dateline else "") or _source_line(head + tail) \
        or _title_body(title)
    return DocMeta(title, date, year, issuer, _prose_kind(title, text, dateline, tail))


def _prose_kind(title: str, text: str, dateline, tail: list[str]) -> str:
    if _LAW_TITLE.search(title) and _FIRST_ARTICLE.search(text):
        return "law"
    if dateline:
        return "news"
    if "报告" in title:
        return "report"
    if any(_BYLINE.search(line) for line in tail):
        return "news"
    return "document"


def _dateline_date(dateline, head: list[str], text: str) -> str:
    """"1月13日讯" dated with the year of a stamp near it, else the latest year the text names."""
    month, day = int(dateline["m"]), int(dateline["d"])
    stamp = _first_date(head)
    year = int(stamp[:4]) if stamp else _latest_year(text)
    return _iso(year, month, day) if year else ""


def _stamp_date(head: list[str], tail: list[str]) -> str:
    """A full date in the first lines (publication stamp) or the last (signature), else ""."""
    return _first_date(head) or _last_date(tail)


def _first_date(lines: list[str]) -> str:
    return next((dates[0] for dates in map(find_dates, lines) if dates), "")


def _last_date(lines: list[str]) -> str:
    return next((dates[-1] for dates in map(find_dates, reversed(lines)) if dates), "")


def _latest_year(text: str) -> int:
    # A report reaches forward ("2026年，将继续…") but is not published before its latest
    # present-tense year; "到2035年" and "2035年前" are targets and are skipped by _YEAR.
    years = [int(y) for y in _YEAR.findall(text)]
    return max(years) if years else 0


def _title_year(title: str) -> int:
    years = [int(y) for y in re.findall(r"((?:19|20)\d\d)\s*年", title)]
    return years[0] if len(set(years)) == 1 else 0


def _dateline_source(dateline) -> str:
    source = dateline["src"].strip("（(【[ ")
    if dateline["kind"] == "电":
        # "新华社北京1月13日电": the agency, without the city it filed from.
        cut = max(source.find("社"), source.find("网"))
        source = source[:cut + 1] if cut > 0 else source
    if len(source) < 2 or source in _LOCAL_SOURCES or source.startswith("本"):
        return ""
    return source


def _source_line(lines: list[str]) -> str:
    return next((m.group(1) for m in map(_SOURCE_LINE.match, lines) if m), "")


def _title_body(title: str) -> str:
    match = _TITLE_BODY.match(title)
    return match.group(1) if match else ""


# --- small helpers --------------------------------------------------------------------------

def _iso(year, month, day) -> str:
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except (TypeError, ValueError):
        return ""


def _cn_number(text: str, digit_by_digit: bool = False) -> int:
    """"二〇二六" → 2026 (digit by digit); "十二" → 12, "二十一" → 21."""
    if digit_by_digit:
        return int("".join(str(_CN_DIGIT[ch]) for ch in text))
    if "十" not in text:
        return _CN_DIGIT.get(text, 0)
    tens, _, ones = text.partition("十")
    return (_CN_DIGIT.get(tens, 0) if tens else 1) * 10 + (_CN_DIGIT.get(ones, 0) if ones else 0)


def _without_dates(line: str) -> str:
    for pattern in (_ARABIC_DATE, _ISO_DATE, _CN_DATE):
        line = pattern.sub(" ", line)
    return line.strip()


def _without_book_titles(line: str) -> str:
    """The line with every 《…》 (nested or not) removed: titles hold verbs that are not events."""
    out, depth = [], 0
    for ch in line:
        if ch == "《":
            depth += 1
        elif ch == "》" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
