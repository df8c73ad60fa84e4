"""Stage 3, decision: the hard checks refuse only where the evidence contradicts the question
(another body, place, year, version or document; only the question's own figure; another unit),
each with a reason code; everything else is the fitted judge's call."""

from __future__ import annotations

from dataclasses import replace

from bot.answering.analysis import analyze
from bot.answering.decision import (_MAX_QUOTE_WORDS, JUDGE_FEATURES, DocFacts,
                                    document_not_in_kb, national_vs_local,
                                    only_stated, other_body, place_missing, rule_from_news,
                                    trim, wrong_unit, year_or_version_missing)
from bot.answering.evidence import FEATURES, Candidate, Source
from bot.answering.model import AnswerModel, Scorer, genre
from bot.answering.reasons import DOUBT, HARD, Reason, render
from bot.retrieval import Passage

OPENING = "全年636件提案承载民意，167场次协商激荡智慧"
REPORT = "某市政协这一年"


def pick(text: str, title: str = "", doc_id: str = "d1", quote: str | None = None) -> Candidate:
    p = Passage("c1", text, {"doc_id": doc_id, "title": title})
    src = Source(0, text, title, doc_id, p)
    start = text.index(quote) if quote else 0
    end = start + len(quote) if quote else len(text)
    return Candidate(src, start, end, None, tuple(0.0 for _ in FEATURES))


def facts(kind="news", years=(), version=0, history=(), title="", doc_id="d1"):
    return {doc_id: DocFacts(doc_id, title, kind, frozenset(years), version,
                             frozenset(history))}


def check(fn, question, picks, docs=None, doc_text=""):
    found = fn(analyze(question), picks, docs or facts(), lambda d: doc_text)
    return found[0] if found else None


def test_every_refusal_code_renders_to_chinese_and_only_doubts_are_soft():
    for reason in Reason:
        assert render(reason, name="甲", other="乙")
    assert render(Reason.YEAR_MISSING, name="2024") == "资料中没有2024年的相关内容"
    assert HARD == frozenset(Reason) - DOUBT
    assert DOUBT == {Reason.LOW_CONFIDENCE, Reason.NO_FIGURE} and Reason.YEAR_MISSING in HARD


# ---- bodies ------------------------------------------------------------------------------------
def test_evidence_about_another_body_is_refused():
    law = facts("law")
    assert check(other_body, "全国政协每届任期几年？",
                 [pick("全国人民代表大会每届任期五年。", "中华人民共和国宪法")], law) == \
        Reason.OTHER_BODY
    assert check(other_body, "全国人大每届任期几年？",
                 [pick("全国人民代表大会每届任期五年。", "中华人民共和国宪法")], law) is None


def test_evidence_naming_no_body_is_not_refused_for_the_body():
    assert check(other_body, "全国政协机关所在地每天升挂国旗吗？",
                 [pick("国旗应当早晨升起，傍晚降下。", "国旗法")]) is None


def test_a_national_question_is_not_answered_by_a_local_report():
    local = [pick("像这样的工作站，在济南已有9家", REPORT)]
    assert check(national_vs_local, "全国政协一共设了多少个界别？", local,
                 doc_text="济南市政协。像这样的工作站，在济南已有9家") == Reason.NATIONAL_VS_LOCAL
    national = [pick("全国政协设34个界别", "全国政协概况")]
    assert check(national_vs_local, "全国政协一共设了多少个界别？", national,
                 facts("document")) is None


# ---- places, years, versions -------------------------------------------------------------------
def test_evidence_about_another_city_is_refused_unless_the_document_names_it():
    picks = [pick("我市政协全年收到636件提案", REPORT)]
    assert check(place_missing, "济南市政协收到多少件提案？", picks, doc_text="淄博市政协") == \
        Reason.PLACE_MISSING
    assert check(place_missing, "淄博市政协收到多少件提案？", picks, doc_text="淄博市政协") is None


def test_another_years_figure_is_refused_unless_the_passage_names_the_year():
    docs = facts(years={2025})
    assert check(year_or_version_missing, "2024年开展了多少场次协商？",
                 [pick(OPENING, REPORT)], docs) == Reason.YEAR_MISSING
    assert check(year_or_version_missing, "2024年开展了多少场次协商？",
                 [pick("2024年开展协商150场次", REPORT)], docs) is None


def test_an_old_version_of_a_law_is_refused_but_its_history_answers_when_it_was_adopted():
    docs = facts("law", years={2020}, version=2020, history={1990, 2009, 2020}, title="国旗法")
    rule = [pick("国旗的通用尺度为五种尺度。", "中华人民共和国国旗法")]
    assert check(year_or_version_missing, "国旗法2009年版本规定国旗的通用尺度有几种？", rule,
                 docs) == Reason.VERSION_MISSING
    assert check(year_or_version_missing, "国旗法2020年版本规定国旗的通用尺度有几种？", rule,
                 docs) is None
    head = [pick("2009年8月27日 第一次修正", "中华人民共和国国旗法")]
    assert check(year_or_version_missing, "国旗法2009年版本是哪天通过的？", head, docs) is None


def test_a_rule_is_not_answered_by_news_only():
    assert check(rule_from_news, "提案按规定应当在多少日内办结？",
                 [pick("305件提案顺利办结", REPORT)]) == Reason.RULE_FROM_NEWS
    assert check(rule_from_news, "信访事项按规定应当在多少日内办结？",
                 [pick("信访事项应当自受理之日起60日内办结", "信访工作条例")], facts("law")) is None


# ---- the document named in 《》 ------------------------------------------------------------------
def test_a_law_named_is_not_answered_by_another_with_a_similar_name():
    docs = facts("law", title="劳动保障监察条例")
    picks = [pick("本条例自2004年12月1日起施行。", "劳动保障监察条例")]
    assert check(document_not_in_kb, "《监察法实施条例》是哪天开始施行的？", picks, docs) == \
        Reason.DOCUMENT_NOT_IN_KB
    for asked, title in (("监察法", "中华人民共和国监察法"), ("政协章程", "中国人民政治协商会议章程")):
        assert check(document_not_in_kb, f"《{asked}》是哪天开始施行的？",
                     [pick("本法自公布之日起施行。", title)], facts("law", title=title)) is None


def test_a_law_in_brackets_the_kb_lacks_is_not_answered_by_one_that_quotes_it():
    docs = facts("law", title="中华人民共和国行政诉讼法")
    quoting = [pick("人民法院审理行政案件，本法没有规定的，适用《中华人民共和国民事诉讼法》的"
                    "相关规定。", "中华人民共和国行政诉讼法")]
    assert check(document_not_in_kb, "按《民事诉讼法》，法院应当在几日内立案？", quoting, docs) == \
        Reason.DOCUMENT_NOT_IN_KB
    # a book or a song is not a document: a passage naming it may well answer
    book = [pick("《唐文粹》由姚铉编成。", "姚铉")]
    assert check(document_not_in_kb, "《唐文粹》是由谁编著的？", book, facts(title="姚铉")) is None


# ---- figures -----------------------------------------------------------------------------------
def test_only_the_questions_own_figure_is_no_answer():
    q = "那452场活动里有多少场是法律援助？"
    assert check(only_stated, q, [pick("开展特色活动452场次")]) == Reason.ONLY_STATED
    assert check(only_stated, q, [pick("特色活动452场次，其中法律援助60场")]) is None
    # a rank is a figure of its own; the parts of the question's dates are none it gives
    assert check(only_stated, "在500强名单中排名多少？", [pick("500强中排名第147位")]) is None
    assert check(only_stated, "2009年4月改制为几个管理区？", [pick("2009年4月改制为4个单一管理区")]) is None


def test_a_count_asked_in_a_unit_is_answered_by_the_best_sentence_in_reach_that_counts_in_it():
    from bot.answering.decision import in_asked_unit

    q = analyze("开展了多少场次协商？")
    best, counted, far = (pick("在助力全市高质量发展中展示新担当。"), pick(OPENING),
                          pick("开展特色活动452场次"))
    scores = {id(best): 2.0, id(counted): 0.5, id(far): -2.0}
    assert in_asked_unit(q, [best, counted, far], scores, best) is counted
    scores[id(counted)] = -1.5  # out of reach (more than 3 log-odds below): the best stays,
    assert in_asked_unit(q, [best, counted, far], scores, best) is best  # and wrong_unit refuses
    loose = analyze("开展了几种活动？")  # 种 is no strict unit: nothing to move for
    assert in_asked_unit(loose, [best, counted], {id(best): 2.0, id(counted): 1.9}, best) is best


def test_the_thing_counted_is_not_traded_for_the_unit():
    """'多少名委员工作室': the best sentence names 委员工作室 but counts them in 家; one counting
    委员 in 名 is about something else — the best stays (and wrong_unit refuses it)."""
    from dataclasses import replace

    from bot.answering.decision import in_asked_unit

    def naming(c: Candidate, focus: float) -> Candidate:
        feats = list(c.features)
        feats[FEATURES.index("focus")] = focus
        return replace(c, features=tuple(feats))

    q = analyze("淄博市政协2025年有多少名委员工作室？")
    assert q.focus == ("委员工作室",)
    best = naming(pick("连同44家“政协委员工作室”，以点带面"), 1.0)
    members = naming(pick("涌现出62名履职表现突出委员。"), 0.0)
    scores = {id(best): 1.0, id(members): 0.0}
    assert in_asked_unit(q, [best, members], scores, best) is best
    named = naming(members, 1.0)  # naming the thing counted, it would answer
    assert in_asked_unit(q, [best, named], {id(best): 1.0, id(named): 0.0}, best) is named


def test_a_figure_asked_is_answered_by_the_best_sentence_in_reach_stating_one_or_by_none():
    from bot.answering.decision import with_figure

    q = analyze("至少得提前几天发布公告？")
    best, stating, far = (pick("县级以上地方各级人民政府根据需要可以组织试鸣防空警报；"),
                          pick("并在试鸣的五日以前发布公告。"), pick("每年试鸣一次，时长三分钟。"))
    scores = {id(best): 3.0, id(stating): 2.5, id(far): -1.0}
    assert with_figure(q, [best, stating, far], scores, best) is stating
    assert with_figure(q, [stating, best], scores, stating) is stating  # it states one: it stays
    # none in reach (more than 3 log-odds below the best) states a figure: nothing answers
    assert with_figure(q, [best, far], scores, best) is None
    # a share, a frequency and a duration are figures as much as a count is
    for asked, said in (("占百分之几？", "应当有其组成人员的过半数出席。"),
                        ("多久联系一次？", "至少每周联系和交流一次。"),
                        ("最长能留置多久？", "留置时间不得超过三个月。")):
        c = pick(said)
        assert with_figure(analyze(asked), [c], {id(c): 0.0}, c) is c, said
    # a count said roughly states a figure: it answers, and is not refused
    rough = pick("全年开展各类协商活动百余场。")
    assert with_figure(analyze("开展了多少场协商活动？"), [rough], {id(rough): 0.0}, rough) is rough
    # a share is held to a share: a count is no 立案率, and one in reach stating a share answers
    share = analyze("提案的立案率是百分之几？")
    count, ratio = pick(OPENING), pick("男女生比例约为1：7。")
    assert with_figure(share, [count], {id(count): 0.0}, count) is None
    assert with_figure(share, [count, ratio], {id(count): 0.0, id(ratio): -1.0}, count) is ratio
    # a date may be an era or a season, and a 'what' is not a figure: never held to one
    for asked in ("朱守谦是哪一年去世的？", "榅桲什么时候开花？", "大雄宝殿在日本被称为什么？"):
        c = pick("晚春或初夏开花。")
        assert with_figure(analyze(asked), [c], {id(c): 0.0}, c) is c, asked


def test_a_figure_asked_of_sentences_stating_none_is_refused_for_doubt(tmp_path):
    """Through `decide`: the figure check refuses after the hard checks, as a doubt (the
    closest passages are shown), before the judge is asked."""
    import numpy as np

    from bot.answering.decision import decide
    from bot.answering.evidence import Evidence

    a, b = passage_of("2025年，市政协发挥专门协商机构作用。", "展示新担当新作为。")
    ev = Evidence((a.source,), (a, b), frozenset())
    sure = Scorer(tuple(JUDGE_FEATURES), "linear", weights=np.zeros(len(JUDGE_FEATURES)),
                  bias=10.0)
    model = AnswerModel(Scorer(FEATURES, "linear", weights=np.zeros(len(FEATURES))), sure, 0.5, {})
    asked = decide(analyze("全市常住人口是多少？"), ev, model, facts(), lambda d: "")
    assert asked.reason == Reason.NO_FIGURE and not asked.hard and not asked.judged
    what = decide(analyze("市政协发挥了什么作用？"), ev, model, facts(), lambda d: "")
    assert not what.refused and what.confidence > 0.99


def test_a_sentence_saying_all_the_question_says_is_not_left_to_the_judges_doubt():
    """The best passage's sentence says every word asked (with its title) and the kind asked:
    answered even when the judge doubts; short of a word, or from a lower passage, the judge
    rules."""
    from dataclasses import replace

    import numpy as np

    from bot.answering.decision import decide
    from bot.answering.evidence import Evidence

    def covering(c: Candidate, share: float, index: int = 0) -> Candidate:
        feats = list(c.features)
        feats[FEATURES.index("terms_framed")] = share
        return replace(c, source=replace(c.source, index=index), features=tuple(feats))

    unsure = Scorer(tuple(JUDGE_FEATURES), "linear", weights=np.zeros(len(JUDGE_FEATURES)),
                    bias=-10.0)
    model = AnswerModel(Scorer(FEATURES, "linear", weights=np.zeros(len(FEATURES))), unsure,
                        0.5, {})
    q = analyze("魏舒史称什么？")
    for c, answered in ((covering(pick("史称魏献子。", "魏舒"), 1.0), True),
                        (covering(pick("史称魏献子。", "魏舒"), 0.8), False),
                        (covering(pick("史称魏献子。", "魏舒"), 1.0, index=1), False)):
        d = decide(q, Evidence((c.source,), (c,), frozenset()), model, facts(), lambda d: "")
        assert d.refused is not answered and (d.reason == Reason.LOW_CONFIDENCE) is not answered
    # a word the knowledge base never holds weighs nothing in the cover: its characters unsaid
    c = covering(pick("史称魏献子。", "魏舒"), 1.0)
    d = decide(analyze("魏舒之弟史称什么？"), Evidence((c.source,), (c,), frozenset()), model,
               facts(), lambda d: "")
    assert d.reason == Reason.LOW_CONFIDENCE


def test_a_count_in_another_unit_is_refused():
    assert check(wrong_unit, "有多少名委员工作室？", [pick("已有44家工作室")]) == Reason.WRONG_UNIT
    assert check(wrong_unit, "收到多少件提案？", [pick(OPENING)]) is None
    assert check(wrong_unit, "应当在多少天内答复？", [pick("应当在十五日内答复")]) is None
    assert check(wrong_unit, "开展了几种活动？", [pick("三大类")]) is None  # 种 is loose


# ---- the quote -----------------------------------------------------------------------------------
def test_a_long_sentence_is_trimmed_to_the_clauses_that_answer_verbatim():
    text = ("会议强调，要坚持团结和民主两大主题，全年围绕中心工作开展协商167场次，"
            "形成一批高质量成果，推动各项工作取得新进展，为现代化建设贡献力量，凝聚广泛共识，"
            "汇聚各方智慧，展现新担当新作为")
    c = trim(pick(text), analyze("开展了多少场次协商？"))
    assert "167场次" in c.quote and c.quote in text and len(c.quote) < len(text)


def test_a_trim_never_cuts_a_figure_or_a_quotation_in_two():
    area = ("桂湖倚新都城墙内侧而建，总面积46,600平方米，其中水面面积约占三分之一，湖中遍植荷花，"
            "湖岸桂树成行，每逢秋季桂花盛开，游人如织，是川西著名的古典园林之一，明代学者杨慎曾在此读书")
    assert len(area) > 80
    c = trim(pick(area), analyze("桂湖的总面积是多少？"))
    assert "46,600平方米" in c.quote and len(c.quote) < len(area)
    said = ("钱谦益在集中作序称：“文章者，天地英淑之气与人之灵心结习而成者也，与山水近，与市朝远，"
            "与异石古木哀吟清唳近，与尘壒远，与钟鼎彝器法书名画近，与时俗玩好远，故风流儒雅、博物好古之人，"
            "文章往往殊邈于世，其结习使然也，今观君之集，清而不寒，丽而有则，信乎其为博物好古者之文，"
            "而非时俗之所能及也，其辞简而不陋，其旨远而不迂，其气和而不靡，其韵长而不冗，读之者如入山林，"
            "如对古人，余故乐为之序，以告世之读是集者。”")
    assert len(said) > _MAX_QUOTE_WORDS
    c = trim(pick(said), analyze("钱谦益作序是如何评价文章的？"))
    assert c.quote.startswith("钱谦益") and c.quote.endswith("读是集者。”")


def test_a_follow_ups_borrowed_unit_is_not_a_contradiction():
    q = analyze("那讲座呢？", ["全年开展调研多少次？"])
    assert q.followup and q.unit == "次"
    assert wrong_unit(q, [pick("开展专题讲座66场次")], facts(), lambda d: "") is None
    own = analyze("那讲座开展了多少次？", ["全年开展调研多少次？"])
    assert wrong_unit(own, [pick("已有44家工作室")], facts(), lambda d: "")[0] == Reason.WRONG_UNIT


# ---- what a refusal tells the member -----------------------------------------------------------
def test_a_refusal_names_the_asked_thing_no_passage_mentions():
    from bot.answering.decision import unmentioned
    from bot.answering.evidence import Evidence

    src = pick(OPENING, REPORT).source
    ev = Evidence((src,), (), frozenset())
    assert unmentioned(analyze("某市政协召开了几次全体会议？"), ev) == {"missing": "全体会议"}
    assert unmentioned(analyze("某市政协全年提案有多少件？"), ev) == {}  # it is there
    # the question's frame is not the thing asked about: a verb or adverb is not named
    rare_adverb = {"原则上": 1, "提案": 50, "全年": 60}.get  # weighs most, by its rarity
    asked = analyze("全年提案原则上有多少件？", document_frequency=rare_adverb)
    assert asked.weight_of["原则上"] == max(asked.weight_of.values())
    assert unmentioned(asked, ev) == {}
    known = {"包括": 1, "提案": 50, "全年": 60}.get  # a known verb can be the focus
    framed = analyze("全年提案包括什么？", document_frequency=known)
    assert framed.focus == ("包括",) and not framed.focus_is_noun
    assert unmentioned(framed, ev) == {}
    said = render(Reason.WRONG_UNIT, name="次", missing="全体会议")
    assert said.startswith("资料中没有以“次”计的数字") and "没有提到“全体会议”" in said
    assert "没有提到" not in render(Reason.LOW_CONFIDENCE)


def test_a_law_named_without_brackets_that_the_kb_lacks_is_refused():
    from bot.answering.decision import law_not_in_kb

    held = {**facts("law", title="中华人民共和国国歌法", doc_id="anthem"),
            **facts("law", title="中华人民共和国宪法", doc_id="constitution")}
    anthem = [pick("第四条 在下列场合，应当奏唱国歌", "中华人民共和国国歌法", "anthem")]
    assert check(law_not_in_kb, "按国旗法，哪些场合应当升挂国旗？", anthem, held) == \
        Reason.DOCUMENT_NOT_IN_KB
    assert check(law_not_in_kb, "按国歌法，哪些场合应当奏唱国歌？", anthem, held) is None
    assert check(law_not_in_kb, "解释宪法这项职权归哪个机关？", anthem, held) is None
    assert check(law_not_in_kb, "哪些场合应当奏唱国歌？", anthem, held) is None  # names none


def test_a_lists_lead_is_answered_by_its_best_item_shown_with_it():
    from bot.answering.decision import list_item

    text = "第十五条 下列人士逝世，下半旗志哀：（一）中华人民共和国主席；（二）中国人民政治协商会议全国委员会主席；"
    p = Passage("c1", text, {"doc_id": "d1", "title": "国旗法"})
    src = Source(0, text, "国旗法", "d1", p)
    lead_end = text.index("：") + 1
    lead = Candidate(src, 0, lead_end, None, tuple(0.0 for _ in FEATURES))
    second = text.index("（二）")
    items = [Candidate(src, second, len(text), (0, lead_end), tuple(0.0 for _ in FEATURES)),
             Candidate(src, lead_end, second, (0, lead_end), tuple(0.0 for _ in FEATURES))]
    assert list_item([lead, *items], lead) is items[0]  # the best-ranked item of that lead
    assert list_item(items, items[1]) is items[1]  # an item, or any sentence, stays itself


def test_a_sentence_dating_the_event_asked_is_a_lookup():
    from bot.answering.decision import states_event

    effective = pick("第二十四条 本法自1990年10月1日起施行。", "中华人民共和国国旗法")
    assert states_event(analyze("国旗法是从哪天开始施行的？"), effective)
    assert not states_event(analyze("国旗法是哪天通过的？"), effective)  # another event
    assert not states_event(analyze("国旗法有几条？"), effective)  # not a date question


def test_the_sentence_stating_the_event_asked_beats_one_stating_another():
    from bot.answering.decision import dated_picks
    from bot.answering.evidence import Evidence

    q = analyze("快递暂行条例是从哪天开始施行的？")
    title = "快递暂行条例"
    history = "2018年3月2日 中华人民共和国国务院令第697号公布"
    header = Source(0, history, title, "d1", Passage("h", history, {"doc_id": "d1"}), header=True)
    line = Candidate(header, 0, len(history), None, tuple(0.0 for _ in FEATURES))
    published = pick("（2018年3月2日国务院公布）", title)
    effective = pick("第四十八条 本条例自2018年5月1日起施行。", title)
    other_law = pick("第五十条 本法自2019年1月1日起施行。", "另一部法", doc_id="d2")
    ranked = [line, published, other_law, effective]
    ev = Evidence((header, published.source, other_law.source, effective.source), tuple(ranked),
                  frozenset({"d1"}))
    # the history line, or a dated sentence, of another event gives way to the law's own
    # sentence stating the event asked
    assert dated_picks(q, ranked, [line], ev) == [effective]
    assert dated_picks(q, ranked[1:], [published], ev) == [effective]
    # never to another law's
    assert dated_picks(q, [published, other_law], [published], ev) == [published]
    # a dated sentence stating the event asked stays; a history line of that event stays
    assert dated_picks(q, [effective, published], [effective], ev) == [effective]
    adopted = analyze("快递暂行条例是哪天公布的？")
    assert dated_picks(adopted, ranked, [line], ev)[0] is not effective


# ---- the threshold -------------------------------------------------------------------------------
def test_a_law_is_judged_against_the_laws_own_threshold(tmp_path):
    zero = Scorer(("a",), "linear", weights=__import__("numpy").zeros(1))
    model = AnswerModel(zero, zero, 0.4, {}, (("law", 0.2),))
    assert genre("law") == "law" and genre("news") == genre("document") == "other"
    assert model.threshold_for("law") == 0.2 and model.threshold_for("news") == 0.4
    model.save(tmp_path / "m.json")
    assert AnswerModel.load(tmp_path / "m.json").threshold_for("law") == 0.2
    assert AnswerModel(zero, zero, 0.4, {}).threshold_for("law") == 0.4  # none fitted: one for all


# ---- the sentence beside -----------------------------------------------------------------------
def passage_of(*sentences: str) -> list[Candidate]:
    text = "".join(sentences)
    p = Passage("c1", text, {"doc_id": "d1", "title": "猴面包树"})
    src = Source(0, text, "猴面包树", "d1", p)
    out, at = [], 0
    for sentence in sentences:
        out.append(Candidate(src, at, at + len(sentence), None, tuple(0.0 for _ in FEATURES)))
        at += len(sentence)
    return out


def by_cover() -> AnswerModel:
    """A model whose selector scores a candidate by its cover_rest alone and never refuses."""
    import numpy as np

    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("cover_rest")] = 1.0
    judge = Scorer(JUDGE_FEATURES, "linear", weights=np.zeros(len(JUDGE_FEATURES)))
    return AnswerModel(Scorer(FEATURES, "linear", weights=weights), judge, 0.4, {})


def with_cover(c: Candidate, value: float) -> Candidate:
    feats = list(c.features)
    feats[FEATURES.index("cover_rest")] = value
    return Candidate(c.source, c.start, c.end, c.lead, tuple(feats))


def test_the_sentence_beside_the_best_is_shown_when_the_selector_can_hardly_tell_them_apart():
    from bot.answering.decision import neighbour_part
    from bot.answering.evidence import Evidence

    a, b, c, d = passage_of("它原产于非洲。", "果肉的钙含量比菠菜高。", "因此它被称为笨蛋水果。",
                            "树干可以储水。")
    other = passage_of("另一篇文章的句子。")[0]
    ev = Evidence((a.source, other.source), (a, b, c, d, other), frozenset())
    scores = {id(a): 0.0, id(b): 1.5, id(c): 3.0, id(d): 2.0, id(other): 2.9}
    assert neighbour_part(ev, scores, c) == [d]  # the closer of the two beside it
    scores[id(d)] = 0.5
    assert neighbour_part(ev, scores, c) == [b]
    scores[id(b)] = 0.9  # both more than 2 log-odds below: the best stands alone
    assert neighbour_part(ev, scores, c) == []
    # the first sentence has one beside it, the next; another passage's sentence is never beside
    assert neighbour_part(ev, {**scores, id(a): 4.0}, a) == []
    assert neighbour_part(ev, {**scores, id(a): 2.5}, a) == [b]


def test_the_sentence_beside_is_shown_in_reading_order_and_the_judge_never_reads_it():
    from bot.answering.decision import decide
    from bot.answering.evidence import Evidence

    first, best = passage_of("果肉的钙含量比菠菜高。", "因此它被称为笨蛋水果。")
    model = by_cover()
    q = analyze("猴面包树被称为什么？")  # no reason asked: the cause is not shown for itself
    close = Evidence((best.source,), (with_cover(first, 1.0), with_cover(best, 2.0)), frozenset())
    far = Evidence((best.source,), (with_cover(first, -1.0), with_cover(best, 2.0)), frozenset())
    shown = decide(q, close, model, facts(), lambda d: "")
    alone = decide(q, far, model, facts(), lambda d: "")
    assert [p.quote for p in shown.picks] == [p.quote for p in alone.picks] == ["因此它被称为笨蛋水果。"]
    assert [p.quote for p in shown.shown] == ["果肉的钙含量比菠菜高。", "因此它被称为笨蛋水果。"]
    assert [p.quote for p in alone.shown] == ["因此它被称为笨蛋水果。"]
    assert shown.confidence == alone.confidence  # the judge read the best sentence alone


def test_the_runner_up_of_the_same_document_is_shown_when_the_selector_can_hardly_tell_them_apart():
    from bot.answering.decision import runner_up

    restates, far, fills = passage_of("雄蛛会很小心地走近雌蛛。", "蛛网呈圆形。", "若不小心，就会被雌蛛吃下。")
    other = passage_of("另一篇文章的句子。")[0]
    other = Candidate(replace(other.source, doc_id="d2"), other.start, other.end, None,
                      other.features)
    ranked = [restates, other, fills, far]
    scores = {id(restates): 3.0, id(other): 2.8, id(fills): 2.2, id(far): 0.0}
    # another document's sentence is never shown beside: only the best one's document answers
    assert runner_up(ranked, scores, restates, []) == []
    assert runner_up([restates, fills, far], scores, restates, []) == [fills]
    # more than the reach below: the best stands alone; one already shown is not shown twice
    assert runner_up([restates, fills, far], {**scores, id(fills): 1.9}, restates, []) == []
    assert runner_up([restates, fills, far], scores, restates, [fills]) == []


def test_a_figure_asked_gets_no_runner_up():
    from bot.answering.decision import decide
    from bot.answering.evidence import Evidence

    first, middle, second = passage_of("全年共举办讲座12场。", "会场设在北京。", "另有培训班5期。")
    model = by_cover()
    ev = Evidence((first.source,), (with_cover(first, 2.0), with_cover(middle, -1.0),
                                    with_cover(second, 1.5)), frozenset())
    shown = decide(analyze("活动是怎么安排的？"), ev, model, facts(), lambda d: "")
    assert [p.quote for p in shown.shown] == ["全年共举办讲座12场。", "另有培训班5期。"]
    counted = decide(analyze("全年举办了多少场讲座？"), ev, model, facts(), lambda d: "")
    assert [p.quote for p in counted.shown] == ["全年共举办讲座12场。"]


def test_a_document_named_is_found_among_many_titles_as_one_by_one():
    from bot.answering.decision import names_any_document, names_document

    titles = ["中国人民政治协商会议章程", "中华人民共和国国旗法", "劳动保障监察条例", "宪法"]
    for name in ["政协章程", "国旗法", "监察法实施条例", "中华人民共和国宪法修正案", "国歌法",
                 "劳动保障监察条例", "a.b*c", "章程会议"]:
        assert names_any_document(name, titles) == any(names_document(name, t) for t in titles)
    assert names_any_document("政协章程", titles) and not names_any_document("国歌法", titles)
    assert not names_any_document("政协章程", [])


def test_a_lists_lead_is_never_the_sentence_beside():
    from bot.answering.decision import neighbour_part
    from bot.answering.evidence import Evidence

    lead, item = passage_of("下列团体不属于登记的范围：", "参加政协的人民团体。")
    ev = Evidence((item.source,), (lead, item), frozenset())
    assert neighbour_part(ev, {id(lead): 2.9, id(item): 3.0}, item) == []


Q = analyze("这些故事来自哪里？")


def test_a_clause_ending_in_a_semicolon_is_shown_with_the_rest_of_its_sentence():
    from bot.answering.decision import continuation
    from bot.answering.evidence import Evidence

    best, rest, after = passage_of("故事大多来自亲朋好友的口述；", "一小部份来自官方的邸报。",
                                   "此书后来改名。")
    ev = Evidence((best.source,), (best, rest, after), frozenset())
    assert continuation(ev, best, Q) == [rest]  # to the sentence's end, not beyond it
    assert continuation(ev, rest, Q) == []  # a whole sentence needs nothing
    # three clauses: the two after the first, and no more than two
    a, b, c, d = passage_of("第一条横带在头顶；", "第二条在体中；", "第三条从背鳍中央起；",
                            "另有斑点。")
    assert continuation(Evidence((a.source,), (a, b, c, d), frozenset()), a, Q) == [b, c]


def test_the_next_item_of_a_list_or_line_is_no_continuation():
    from bot.answering.decision import continuation
    from bot.answering.evidence import Evidence

    item, following = passage_of("（一）全国人民代表大会会议的开幕；", "（二）国家的重大庆典；")
    assert continuation(Evidence((item.source,), (item, following), frozenset()), item, Q) == []
    line, _, next_line = passage_of("本条例所称的单位包括机关；", "\n", "其他组织参照执行。")
    assert continuation(Evidence((line.source,), (line, next_line), frozenset()), line, Q) == []
    clause, lead = passage_of("由主管部门给予警告；", "造成损失的，应当依法赔偿损失：")
    assert continuation(Evidence((clause.source,), (clause, lead), frozenset()), clause, Q) == []


def test_no_continuation_after_an_answer_cut_to_the_clauses_holding_its_figure():
    from bot.answering.decision import continuation, trim
    from bot.answering.evidence import Evidence

    best, rest = passage_of("由国务院地震工作主管部门或者县级以上地方人民政府负责管理地震工作的部门或者机构给予"
                            "警告，责令停止违法行为，对个人可以处5000元以下的罚款，对单位处2万元以上10万元以下"
                            "的罚款；", "构成犯罪的，依法追究刑事责任。")
    q = analyze("个人最多可以罚多少钱？")
    assert trim(best, q).end < best.end - 1  # shown: up to the individual's fine
    assert continuation(Evidence((best.source,), (best, rest), frozenset()), best, q) == []


def judge_weighing(feature: str, weight: float, bias: float) -> AnswerModel:
    """A model whose judge weighs one feature alone (threshold 0.5), its selector nothing."""
    import numpy as np

    weights = np.zeros(len(JUDGE_FEATURES))
    weights[JUDGE_FEATURES.index(feature)] = weight
    return AnswerModel(Scorer(FEATURES, "linear", weights=np.zeros(len(FEATURES))),
                       Scorer(tuple(JUDGE_FEATURES), "linear", weights=weights, bias=bias), 0.5, {})

def test_the_judge_reads_what_a_passage_leaves_unsaid_except_in_a_law():
    """瘰鳞蛇 asked, 钩鼻海蛇 answering: an article about another animal leaves the rare
    characters of the asked one unsaid, and a judge weighing them refuses; a law's passage is
    not read for it (members name a law's matter in their own words): the judge gets NaN."""
    import math

    from bot.answering.decision import decide
    from bot.answering.evidence import Evidence

    c = pick("钩鼻海蛇主要以鱼类为食。", "钩鼻海蛇")
    model = judge_weighing("unsaid_rarest", -1.0, bias=10.0)
    ev = Evidence((c.source,), (c,), frozenset())
    article = decide(analyze("瘰鳞蛇主要以什么为食？"), ev, model, facts("document"), lambda d: "")
    assert article.reason == Reason.LOW_CONFIDENCE
    assert article.judged[JUDGE_FEATURES.index("unsaid_rarest")] > 10
    law = decide(analyze("瘰鳞蛇主要以什么为食？"), ev, model, facts("law"), lambda d: "")
    assert not law.refused and math.isnan(law.judged[JUDGE_FEATURES.index("unsaid_rarest")])
    asked = decide(analyze("钩鼻海蛇主要以什么为食？"), ev, model, facts("document"), lambda d: "")
    assert not asked.refused


def test_a_reason_asked_shows_the_cause_beside_the_sentence_that_restates_the_question():
    from bot.answering.decision import cause_beside
    from bot.answering.evidence import Evidence

    before, effect, after = passage_of("桥身涂成七种颜色。", "因此人们叫它彩虹桥。", "桥长八百米。")
    ev = Evidence((effect.source,), (before, effect, after), frozenset())
    assert cause_beside(ev, effect) == [before]  # a consequence: its cause stands before it
    restates, cause, far = passage_of("小城的居民很少外出。", "冬季大雪常常封山。", "城里有两所学校。")
    ev = Evidence((restates.source,), (restates, cause, far), frozenset())
    assert cause_beside(ev, restates) == [cause]  # else the sentence after it
    stated, nxt = passage_of("由于冬季大雪封山，居民很少外出。", "城里有两所学校。")
    assert cause_beside(Evidence((stated.source,), (stated, nxt), frozenset()), stated) == []
    last, lead = passage_of("居民很少外出。", "原因如下：")
    assert cause_beside(Evidence((last.source,), (last, lead), frozenset()), last) == []


def test_only_a_reason_asked_shows_the_cause_and_the_judge_never_reads_it():
    from bot.answering.decision import decide
    from bot.answering.evidence import Evidence

    cause, effect, far = passage_of("桥身涂成七种颜色。", "因此人们叫它彩虹桥。", "桥长八百米。")
    ev = Evidence((effect.source,), (with_cover(cause, -2.0), with_cover(effect, 2.0),
                                     with_cover(far, -2.0)), frozenset())
    why = decide(analyze("人们为什么叫它彩虹桥？"), ev, by_cover(), facts(), lambda d: "")
    what = decide(analyze("人们叫它什么桥？"), ev, by_cover(), facts(), lambda d: "")
    assert [p.quote for p in why.shown] == ["桥身涂成七种颜色。", "因此人们叫它彩虹桥。"]
    assert [p.quote for p in what.shown] == ["因此人们叫它彩虹桥。"]
    assert why.confidence == what.confidence


def test_a_reason_is_asked_only_by_a_question_of_no_other_kind():
    assert analyze("人们为什么叫它彩虹桥？").asks_reason
    assert analyze("这次停电的原因是什么？").asks_reason
    assert not analyze("事故原因由哪个部门调查？").asks_reason  # asks who
    assert not analyze("为什么要在三日内申报，逾期几日不予受理？").asks_reason  # asks a figure
    assert not analyze("人们叫它什么桥？").asks_reason


def test_the_judge_reads_how_the_best_passages_spread_over_documents():
    from bot.answering.decision import spread

    best = passage_of("桥长八百米。")[0]

    def src(doc_id: str) -> Source:
        return replace(best.source, doc_id=doc_id)

    gathered = (best.source, src("d1"), src("d1"), src("d2"), src("d1"), src("d3"))
    scattered = (src("d2"), src("d3"), best.source, src("d4"), src("d5"))
    assert spread(gathered, best) == (2.0, 0.8)  # the best five only
    assert spread(scattered, best) == (5.0, 0.2)
    assert spread((best.source,), best) == (1.0, 1.0)


def test_a_law_leaves_unsaid_and_spread_unread():
    import math

    from bot.answering.decision import UNREAD, unread

    row = [1.0] * len(JUDGE_FEATURES)
    masked = dict(zip(JUDGE_FEATURES, unread("law", row)))
    assert {n for n, v in masked.items() if math.isnan(v)} == set(UNREAD["law"]) >= {
        "unsaid_share", "spread_documents", "spread_share"}
    assert unread("report", row) == row == unread("document", row)


def test_the_judge_reads_whether_the_question_names_a_sibling_of_the_passages_subject():
    """东直门站 asked, an article on 西直门站 answering: the judge's row says so (clues.names_sibling),
    and a judge weighing it refuses; asked of 西直门站 itself, it answers."""
    from bot.answering.decision import decide
    from bot.answering.evidence import Evidence

    c = pick("西直门站设有四个出入口。", "西直门站")
    model = judge_weighing("sibling", -20.0, bias=5.0)
    ev = Evidence((c.source,), (c,), frozenset())
    other = decide(analyze("东直门站有几个出入口？"), ev, model, facts("document"), lambda d: "")
    assert other.reason == Reason.LOW_CONFIDENCE
    assert other.judged[JUDGE_FEATURES.index("sibling")] == 0.75
    itself = decide(analyze("西直门站有几个出入口？"), ev, model, facts("document"), lambda d: "")
    assert not itself.refused
