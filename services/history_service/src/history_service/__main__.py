"""``python -m history_service``: serve the history API on ``PORT`` (default 8083)."""

from chatbot_common.serve import serve

from .main import create_app
from .settings import HistorySettings


def main() -> None:
    settings = HistorySettings()
    serve(create_app(settings), settings, "history")


if __name__ == "__main__":
    main()
