"""`python -m ui_service`: serve the chat page on PORT (default 8080)."""

from chatbot_common.serve import serve

from .main import create_app
from .settings import UiSettings


def main() -> None:
    settings = UiSettings()
    serve(create_app(settings), settings, "ui_service")


if __name__ == "__main__":
    main()
