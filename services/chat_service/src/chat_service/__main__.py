"""``python -m chat_service``: serve the chat service on PORT (default 8081)."""

from __future__ import annotations

from chatbot_common.serve import serve

from .main import create_app
from .settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings, "chat_service")


if __name__ == "__main__":
    main()
