"""Remove web-page chrome (breadcrumbs, share bars, counters, disclaimers, footers) from text.

Page chrome is not knowledge: it would be retrieved and quoted as if it were. Rules are line
based and conservative: a line goes only when its whole shape is chrome (a row of button words,
a breadcrumb, a counter, a disclaimer opening), never because it merely mentions such a word, so
a real sentence of content always stays. Short lines that could be either (a lone "0", a
publisher's name) go only when they touch a chrome line within the same paragraph block.
"""

from __future__ import annotations

import re

_COUNT = r"\d[\d.,]*\s*[万wWkK亿]?\+?"
_COUNT_LABEL = (r"(?:文章数|文章|关注度|关注|粉丝数?|阅读量?|浏览量?|点赞数?|评论数?|收藏|转发|获赞"
                r"|作品|播放量?|人阅读|人浏览|人关注|人评论|次浏览|次阅读|次播放)")
_COUNTERS = re.compile(
    rf"^(?:\s*(?:{_COUNT}\s*{_COUNT_LABEL}|{_COUNT_LABEL}\s*[:：]?\s*{_COUNT})\s*)+$")
_LONE_COUNT = re.compile(rf"^{_COUNT}$")
# A CSS class name: lower-case words joined by hyphens, one of them an icon/button/logo word.
_ICON_LEAK = re.compile(
    r"(?:^|\s)(?=[a-z0-9-]*-)[a-z0-9-]*(?:icon|btn|logo|avatar)[a-z0-9-]*(?=\s|$)")
_BREADCRUMB_SEP = re.compile(r"\s*[>＞»›]\s*")
_WHERE_AM_I = re.compile(r"^(?:当前位置|您的位置|你的位置|所在位置|您现在的位置)\s*[:：]")
_DISCLAIMER = re.compile(
    r"^(?:特别声明|免责声明|版权声明|郑重声明|声明)\s*[:：]|^Notice\s*:\s*The content above"
    r"|^(?:Disclaimer|Copyright)\b|^(?:版权所有|©)"
    r"|^[【\[（(]?(?:本文|本站|本网|本平台|本号|文章|图文|图片)(?:来源于网络|版权归|系转载|转载自)"
    r"|^[【\[（(]?(?:(?:本文|本站|本网|本平台|本号|文章|图文|图片|版权)[^。]{0,20})?"
    r"(?:未经[^。，,]{0,6}(?:授权|许可)[，,]?\s*(?:禁止|不得|严禁|谢绝)(?:转载|复制|使用)"
    r"|(?:禁止|严禁|谢绝|请勿)转载|转载请注明|如有侵权)", re.I)
_CREDITS = re.compile(r"^[【\[（(]?\s*(?:责任编辑|责编|编辑|校对|审核|审校|初审|复审|终审|监制"
                      r"|值班编辑|网络编辑|实习编辑|美编|排版|统筹)\s*[:：]")
_SHORT_CHROME = re.compile(
    r"^(?:扫一扫|扫码|扫描二维码|长按(?:识别)?二维码|微信扫一扫|用微信扫描"
    r"|(?:点击|点此)?(?:查看|阅读|展开)(?:全文|更多|原文|详情)|阅读原文|点击(?:查看|阅读|进入|播放|下载)"
    r"|(?:上一篇|下一篇|上一条|下一条)\s*[:：]|返回.{0,6}(?:首页|查看更多)"
    r"|(?:打开|下载).{0,8}(?:APP|App|app|客户端))")
_FOOTER = re.compile(
    r"^(?:往期回顾|相关推荐|热点推荐|专题推荐|热门推荐|推荐阅读|相关阅读|相关新闻|相关文章|相关链接"
    r"|猜你喜欢|为你推荐|为您推荐|大家都在看|热门评论|网友评论|精彩评论|最新评论|更多精彩|精彩推荐"
    r"|今日推荐|热门文章|热文推荐)\s*(?:全部|更多|查看更多)?\s*[>»›]*$")
# Button words of share bars and page tools; a line made only of these is a toolbar. WEAK ones
# are ordinary words too, so they count only beside a STRONG one.
_STRONG_BUTTONS = {
    "分享", "分享至", "分享到", "收藏", "点赞", "打印", "关闭窗口", "返回顶部", "回到顶部", "举报",
    "纠错", "我要纠错", "QQ空间", "朋友圈", "微信好友", "QQ好友", "复制链接", "扫一扫", "字号",
    "申请入驻", "无障碍浏览", "进入关怀版", "关怀版", "长者模式", "适老化", "下载APP", "打开APP",
    "下载客户端", "上一篇", "下一篇", "加关注", "手机看", "新浪微博", "腾讯微博", "分享文章",
}
_WEAK_BUTTONS = {
    "转发", "评论", "关闭", "微信", "微博", "QQ", "二维码", "大", "中", "小", "默认", "登录", "注册",
    "全部", "更多", "返回", "首页", "正文", "关注", "已关注", "订阅", "收起", "展开", "手机版", "繁体",
    "简体", "繁體", "顶部", "赞", "无障碍",
}
_TOKEN_SPLIT = re.compile(r"[\s|｜·•/、:：]+")
_SENTENCE_PUNCT = re.compile(r"[。，！？；：、,!?;:“”\"]")
_SENTENCE_END = re.compile(r"[。！？!?；;…]$")
_DATE = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}|\d{1,2}\s*月\s*\d{1,2}\s*日")
_BYLINE = re.compile(r"记者|通讯员|报道|作者|来源|摄影|撰文|供稿")
_BLANK_RUNS = re.compile(r"\n{3,}")
MAX_NAME_CHARS = 20  # a publisher name or slogan in a profile box is short
MAX_HEADLINE_CHARS = 60


def strip_chrome(text: str) -> str:
    """Text without page-chrome lines; a headline framed by chrome becomes a `# ` line."""
    lines = _cut_footer(text.split("\n"))
    chrome = [is_chrome_line(line) for line in lines]
    if not any(chrome):
        return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
    _spread_to_neighbours(lines, chrome)
    headline = _framed_headline(lines, chrome)
    if headline is not None:
        lines[headline] = "# " + lines[headline]
    kept = "\n".join(line for line, drop in zip(lines, chrome) if not drop)
    return _BLANK_RUNS.sub("\n\n", kept).strip()


def is_chrome_line(line: str) -> bool:
    """Is the whole line page chrome (toolbar, breadcrumb, counter, disclaimer, credits...)?"""
    line = line.strip()
    if not line or line.startswith("#"):
        return False
    if len(line) > 300:  # only a disclaimer runs this long; skip the other rules (speed)
        return bool(_DISCLAIMER.match(line))
    return bool(
        _is_button_row(line) or _is_breadcrumb(line) or _COUNTERS.match(line)
        or _is_profile_leak(line) or _DISCLAIMER.match(line) or _FOOTER.match(line)
        or (len(line) <= 60 and (_CREDITS.match(line) or _WHERE_AM_I.match(line)))
        or (len(line) <= 40 and _SHORT_CHROME.match(line)))


def _is_button_row(line: str) -> bool:
    tokens = [t.strip("【】[]（）()：:") for t in _TOKEN_SPLIT.split(line)]
    tokens = [t for t in tokens if t]
    if not tokens or not any(t in _STRONG_BUTTONS for t in tokens):
        return False
    return all(t in _STRONG_BUTTONS or t in _WEAK_BUTTONS or _LONE_COUNT.match(t) for t in tokens)


def _is_breadcrumb(line: str) -> bool:
    """"首页 > 新闻 > 正文": short items joined by arrows, no sentence punctuation."""
    parts = _BREADCRUMB_SEP.split(line)
    return (len(parts) >= 3 and all(0 < len(p) <= 12 for p in parts)
            and not _SENTENCE_PUNCT.search(line))


def _is_profile_leak(line: str) -> bool:
    """A publisher-box line with a leaked CSS class name ("闪电新闻 incentive-icons")."""
    return len(line) <= 40 and bool(_ICON_LEAK.search(line)) and not _SENTENCE_PUNCT.search(line)


def _cut_footer(lines: list[str]) -> list[str]:
    """Drop everything from a footer marker ("相关推荐", "往期回顾"...) once the body is behind it."""
    if not any(_FOOTER.match(line.strip()) for line in lines):
        return lines
    total = sum(_weight(line) for line in lines)
    before = 0
    for i, line in enumerate(lines):
        if _FOOTER.match(line.strip()) and before >= total - before:
            return lines[:i]
        before += _weight(line)
    return lines


def _weight(line: str) -> int:
    return sum(ch.isalnum() for ch in line)


def _spread_to_neighbours(lines: list[str], chrome: list[bool]) -> None:
    """Mark lone counters next to chrome, and short names next to a publisher's counters."""
    profile = [bool(_COUNTERS.match(ln.strip()) or _is_profile_leak(ln.strip())) for ln in lines]
    changed = True
    while changed:
        changed = False
        for i, line in enumerate(lines):
            if chrome[i] or not line.strip():
                continue
            near = [j for j in (i - 1, i + 1) if 0 <= j < len(lines) and lines[j].strip()]
            if _LONE_COUNT.match(line.strip()) and any(chrome[j] for j in near):
                chrome[i] = changed = True  # a counter is not a name: it spreads no further
            elif _is_name_like(line) and any(chrome[j] and profile[j] for j in near):
                chrome[i] = profile[i] = changed = True


def _is_name_like(line: str) -> bool:
    """Short, no sentence punctuation, no date, no byline: a name or slogan, not a sentence."""
    line = line.strip()
    return (len(line) <= MAX_NAME_CHARS and not line.startswith("#")
            and not _SENTENCE_PUNCT.search(line) and not _DATE.search(line)
            and not _BYLINE.search(line))


def _framed_headline(lines: list[str], chrome: list[bool]) -> int | None:
    """The first content line, when chrome sits both above it and right below it."""
    if any(line.startswith("# ") for line in lines):
        return None
    first = next((i for i, line in enumerate(lines) if line.strip() and not chrome[i]), None)
    if first is None or not any(chrome[:first]):
        return None
    below = next((i for i in range(first + 1, len(lines)) if lines[i].strip()), None)
    line = lines[first].strip()
    if below is None or not chrome[below] or len(line) > MAX_HEADLINE_CHARS:
        return None
    if _SENTENCE_END.search(line) or _BYLINE.search(line) or sum(ch.isalnum() for ch in line) < 4:
        return None
    return first
