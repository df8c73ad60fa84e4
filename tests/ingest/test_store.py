"""The packed form of a document's whole text (pure functions; Chroma is exercised elsewhere)."""

from ingest.store import pack_text, unpack_text


def test_packed_text_round_trips_and_holds_no_chinese():
    text = "全年636件提案承载民意，167场次协商激荡智慧。\n第十二条　……"
    packed = pack_text(text)
    assert packed.isascii()  # nothing for Chroma's text index to chew on
    assert unpack_text(packed) == text
    assert unpack_text(pack_text("")) == ""


def test_text_stored_before_packing_reads_as_it_was():
    assert unpack_text("第一条　为了……") == "第一条　为了……"
