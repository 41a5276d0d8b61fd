"""``python -m llm_service``: the OpenAI-compatible gateway on PORT (default 8082)."""

from chatbot_common.serve import serve

from .main import create_app
from .settings import LlmSettings


def main() -> None:
    settings = LlmSettings()
    serve(create_app(settings), settings, "llm")


if __name__ == "__main__":
    main()
