"""What a file is (sniffed from its bytes) and the text read from it."""

from __future__ import annotations

import pytest
from chatbot_common.errors import InvalidError
from history_service.files import extract_text, sniff
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.pdf import make_pdf


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("a.csv", b"x,y\n1,2\n", ("document", "text/csv")),
    ("notes.MD", "# Überschrift\n".encode(), ("document", "text/markdown")),
    ("main.py", b"print('hi')\n", ("document", "text/plain")),
    ("noext", b"plain words", ("document", "text/plain")),
    ("page.html", b"<script>alert(1)</script>", ("document", "text/plain")),  # never rendered
    ("pic.svg", b"<svg onload='alert(1)'/>", ("document", "text/plain")),
    ("photo.txt", b"\x89PNG\r\n\x1a\n....", ("image", "image/png")),  # the bytes decide
    ("x.jpg", b"\xff\xd8\xff\xe0....", ("image", "image/jpeg")),
    ("x.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", ("image", "image/webp")),
    ("report.pdf", make_pdf(["hello"]), ("document", "application/pdf")),
])
def test_kinds_come_from_the_bytes(name: str, data: bytes, expected: tuple[str, str]) -> None:
    assert sniff(name, data) == expected


@pytest.mark.parametrize("data", [b"\x00\x01\x02binary", b"\xff\xfe\x00h\x00i", b"MZ\x90\x00"])
def test_anything_else_is_invalid(data: bytes) -> None:
    with pytest.raises(InvalidError):
        sniff("file.bin", data)


def test_text_is_cut_at_the_limit_and_a_bom_dropped() -> None:
    assert extract_text("text/plain", "\ufeffhello".encode(), 100) == "hello"
    cut = extract_text("text/plain", b"a" * 50, 10)
    assert cut.startswith("a" * 10) and "cut" in cut and len(cut) < 120


def test_pdf_text_is_extracted() -> None:
    pdf = make_pdf(["Quarterly revenue was 4711 euros.", "(parens) and \\ backslash"])
    assert extract_text("application/pdf", pdf, 1000) == (
        "Quarterly revenue was 4711 euros.\n(parens) and \\ backslash")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_a_broken_pdf_is_invalid_never_a_crash(tail: bytes) -> None:
    try:
        text = extract_text("application/pdf", b"%PDF-1.4\n" + tail, 1000)
    except InvalidError:
        return
    assert isinstance(text, str)


def test_a_truncated_pdf_is_invalid_or_empty() -> None:
    pdf = make_pdf(["some text here"])
    for cut in (20, len(pdf) // 2, len(pdf) - 30):
        try:
            text = extract_text("application/pdf", pdf[:cut], 1000)
        except InvalidError:
            continue
        assert isinstance(text, str)
