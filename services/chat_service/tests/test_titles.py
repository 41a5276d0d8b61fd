from chat_service.titles import title_from


def test_short_content_is_the_title() -> None:
    assert title_from("  What is\n the  capital of France? ") == "What is the capital of France?"


def test_long_content_is_cut_at_a_word() -> None:
    title = title_from("word " * 40, max_chars=30)
    assert len(title) <= 30
    assert title.endswith("…")
    assert title[:-1].split() == ["word"] * len(title[:-1].split())


def test_blank_content_gets_a_placeholder() -> None:
    assert title_from("   ") == "New conversation"
