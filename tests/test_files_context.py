"""The local-model path (no key): a file's text reaches the built-in model's context.

Unit level, across the two services that build it: the chat service inlines the file
(``attachments.with_files``), the LLM service fits it into the local model's budget
(``LLM_LOCAL_CONTEXT_TOKENS`` minus the answer's tokens) and refuses images for it (the local
model is no vision model). The real model is exercised by tests/test_llm_local_model.py.
"""

from __future__ import annotations

import pytest
from chat_service.attachments import with_files
from chatbot_common.errors import InvalidError
from llm_service.gateway import Gateway
from llm_service.settings import LlmSettings
from llm_service.trimming import IMAGE_TOKENS, estimate_tokens, trim_messages


def local_settings() -> LlmSettings:
    settings = LlmSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.use_local_model, "no key and the default base URL: the local model"
    return settings


def budget(settings: LlmSettings) -> int:
    return settings.local_context_tokens - settings.max_tokens


def test_a_file_reaches_the_local_models_context() -> None:
    settings = local_settings()
    doc = {"name": "notes.txt", "media_type": "text/plain", "kind": "document",
           "text": "The secret word is pineapple."}
    messages = [
        {"role": "system", "content": settings.system_prompt},
        {"role": "user", "content": "old question " * 50},
        {"role": "assistant", "content": "old answer " * 50},
        {"role": "user", "content": with_files("What is the secret word?", [doc])},
    ]
    kept = trim_messages(messages, budget(settings)).messages
    assert "The secret word is pineapple." in kept[-1]["content"]
    assert kept == messages  # it fits whole


def test_a_long_file_is_shortened_in_the_middle_and_the_question_stays() -> None:
    settings = local_settings()
    text = "START of the file. " + "filler " * 20_000 + " END of the file."
    messages = [
        {"role": "system", "content": settings.system_prompt},
        {"role": "user", "content": "earlier " * 100},
        {"role": "assistant", "content": "reply"},
        {"role": "user", "content": with_files("Summarise it.", [
            {"name": "long.txt", "media_type": "text/plain", "kind": "document", "text": text}])},
    ]
    result = trim_messages(messages, budget(settings))
    last = result.messages[-1]["content"]
    assert result.shortened and estimate_tokens(result.messages) <= budget(settings)
    assert last.startswith('<file name="long.txt"') and "START of the file." in last
    assert last.endswith("Summarise it.") and "[…]" in last
    assert result.dropped == 2  # the older turn gave way first


def test_images_count_and_survive_shortening() -> None:
    content = with_files("x " * 10_000, [{"kind": "image", "media_type": "image/png",
                                          "data_base64": "AAAA", "name": "a.png"}])
    messages = [{"role": "user", "content": content}]
    assert estimate_tokens(messages) >= IMAGE_TOKENS
    out = trim_messages(messages, IMAGE_TOKENS + 200).messages[0]["content"]
    assert isinstance(out, list) and out[-1]["type"] == "image_url"


async def test_the_local_model_refuses_images() -> None:
    settings = local_settings()
    gateway = Gateway(settings, chain=lambda: [])
    image = [{"type": "text", "text": "hi"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    with pytest.raises(InvalidError):
        gateway.check_images(None, [{"role": "user", "content": image}])
    gateway.check_images(None, [{"role": "user", "content": "text only"}])
