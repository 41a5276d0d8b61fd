"""Files, conversation settings and import on the chat page, as a person uses them (chromium).

The fake upstream records what it received: the tests read there that the extracted text,
the image and the temperature reached the model.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.support.pdf import make_pdf
from tests.support.stack import Stack, start_stack
from tests.support.upstream_log import upstream_request

from .pw import browser, conversation_id, open_chat, screenshot, send, wait_answer_done

pytestmark = pytest.mark.browser

VISION = "fake/vision-1"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def files_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(
        Path(tmp_path_factory.mktemp("ui-files")),
        llm_env={"LLM_MODELS": VISION, "LLM_VISION_MODELS": VISION},
    )
    try:
        yield s
    finally:
        s.stop()


def attach_with_button(page: Page, *paths: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach file").click()
    chooser.value.set_files([str(p) for p in paths])


def drop_file(page: Page, name: str, text: str, mime: str) -> None:
    """Drag a file onto the page (a real drop event with a DataTransfer holding it)."""
    page.evaluate(
        """([name, text, mime]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], name, { type: mime }));
            const main = document.getElementById("main");
            const init = { dataTransfer: dt, bubbles: true, cancelable: true };
            main.dispatchEvent(new DragEvent("dragover", init));
            main.dispatchEvent(new DragEvent("drop", init));
        }""",
        [name, text, mime],
    )


def paste_file(page: Page, name: str, text: str) -> None:
    page.evaluate(
        """([name, text]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], name, { type: "text/plain" }));
            const init = { clipboardData: dt, bubbles: true, cancelable: true };
            document.getElementById("input").dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        [name, text],
    )


def wait_chips(page: Page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#attachments .chip.ready').length === n"
        " && !document.querySelector('#attachments .chip.uploading')",
        arg=count,
    )


def test_attach_a_pdf_and_a_csv_and_ask_about_them(files_stack: Stack, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(make_pdf(["Quarterly revenue was 4711 euros.", "Auditor: Ms Okonkwo."]))
    marker = f"ask-{uuid.uuid4().hex[:8]}"
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, files_stack.ui.url)
        attach_with_button(page, pdf)  # the button (a new chat is created for the file)
        drop_file(page, "stock.csv", "item,count\nbolts,812\n", "text/csv")  # drag and drop
        paste_file(page, "pasted.txt", "pasted note: the door code is 2468")  # paste
        wait_chips(page, 3)
        screenshot(page, "files-attached")
        send(page, f"What do these files say? {marker}")
        wait_answer_done(page)
        page.wait_for_selector(".msg-user .file-chip[data-name='report.pdf']")
        assert page.locator(".msg-user .file-chip").count() == 3
        assert page.is_hidden("#attachments")
        sent = upstream_request(files_stack.upstream.url, marker)["messages"][-1]["content"]
        assert "Quarterly revenue was 4711 euros." in sent
        assert "bolts,812" in sent and "the door code is 2468" in sent
        # A file of a message downloads from its chip.
        with page.expect_download() as got:
            page.click(".msg-user .file-chip[data-name='stock.csv']")
        assert Path(got.value.path()).read_text() == "item,count\nbolts,812\n"
        assert not problems.errors, problems.errors


def test_an_image_for_a_vision_model_and_refused_for_a_text_model(
    files_stack: Stack, tmp_path: Path
) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(PNG)
    marker = f"img-{uuid.uuid4().hex[:8]}"
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, files_stack.ui.url)
        # A text model (the default) refuses it: a toast, no chip.
        attach_with_button(page, image)
        page.wait_for_selector(".toast >> text=does not take images")
        assert page.locator("#attachments .chip").count() == 0
        # A vision model takes it.
        page.click("#new-chat")
        page.click("#chat-settings summary")
        page.wait_for_function(
            "m => [...document.querySelectorAll('#model-select option')].some(o => o.value === m)",
            arg=VISION,
        )
        page.select_option("#model-select", VISION)
        attach_with_button(page, image)
        wait_chips(page, 1)
        send(page, f"What is in the picture? {marker}")
        wait_answer_done(page)
        body = upstream_request(files_stack.upstream.url, marker)
        assert body["model"] == VISION
        assert body["messages"][-1]["content"][1]["image_url"]["url"].startswith(
            "data:image/png;base64,")


def test_the_temperature_set_on_the_page_reaches_the_upstream(
    files_stack: Stack, tmp_path: Path
) -> None:
    marker = f"temp-{uuid.uuid4().hex[:8]}"
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, files_stack.ui.url)
        send(page, "Hello first")
        wait_answer_done(page)
        page.get_by_role("button", name="Conversation settings").click()
        page.get_by_label("Temperature").fill("0.4")
        page.get_by_label("Top-p").fill("0.9")
        page.get_by_label("Maximum answer length (tokens)").fill("7")
        page.get_by_role("button", name="Save").click()
        page.wait_for_selector(".toast >> text=Settings saved")
        send(page, f"Now with settings {marker}")
        wait_answer_done(page, 2)
        body = upstream_request(files_stack.upstream.url, marker)
        assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.4, 0.9, 7)
        # Shown again when the settings are opened (after a reload too).
        page.reload()
        page.wait_for_selector("#conn[data-state=connected]")
        page.wait_for_selector(".msg-assistant")
        page.get_by_role("button", name="Conversation settings").click()
        assert page.get_by_label("Temperature").input_value() == "0.4"
        # Beyond the operator's bounds (LLM_MAX_TOKENS_CAP, 4096 by default): refused, the
        # reason shown. (A temperature beyond 2 the field itself does not submit.)
        page.get_by_label("Maximum answer length (tokens)").fill("100000")
        page.get_by_role("button", name="Save").click()
        page.wait_for_selector(".toast >> text=max_tokens must be at most 4096")
        screenshot(page, "conversation-settings")
        assert not [e for e in problems.errors if "Content Security Policy" in e]


def test_export_then_import_gives_the_same_conversation(
    files_stack: Stack, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe password is swordfish.\n")
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, files_stack.ui.url)
        attach_with_button(page, notes)
        wait_chips(page, 1)
        send(page, "Read my notes")
        wait_answer_done(page)
        send(page, "And summarise them")
        wait_answer_done(page, 2)
        original = conversation_id(page)
        before = page.eval_on_selector_all(".msg .msg-content", "els => els.map(e => e.innerText)")
        page.click("#export-btn")
        with page.expect_download() as got:
            page.click("#export-json")
        exported = tmp_path / "export.json"
        got.value.save_as(str(exported))
        data = json.loads(exported.read_text())
        assert data["format"] == "chatbot.conversation/1"
        assert base64.b64decode(data["files"][0]["data_base64"]) == notes.read_bytes()
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="Import conversation").click()
        chooser.value.set_files(str(exported))
        page.wait_for_selector(".toast >> text=Conversation imported")
        page.wait_for_function("id => location.pathname.startsWith('/c/') "
                               "&& location.pathname !== '/c/' + id", arg=original)
        page.wait_for_function("n => document.querySelectorAll('.msg .msg-content').length === n",
                               arg=len(before))
        after = page.eval_on_selector_all(".msg .msg-content", "els => els.map(e => e.innerText)")
        assert after == before
        assert page.inner_text("#conv-title") == data["conversation"]["title"]
        with page.expect_download() as again:
            page.click(".msg-user .file-chip[data-name='notes.md']")
        assert Path(again.value.path()).read_bytes() == notes.read_bytes()
        assert not problems.errors, problems.errors


def test_a_file_too_large_is_refused_on_the_page(files_stack: Stack, tmp_path: Path) -> None:
    big = tmp_path / "huge.pdf"
    big.write_bytes(make_pdf(["too big"], pad_to=20 << 20))
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, files_stack.ui.url)
        attach_with_button(page, big)
        page.wait_for_selector(".toast >> text=The file is too large: huge.pdf")
        assert page.locator("#attachments .chip").count() == 0
