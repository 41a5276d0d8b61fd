"""Configuration of the history service (environment variables only)."""

from __future__ import annotations

from typing import Literal

from chatbot_common.settings import ServiceSettings
from pydantic import Field


class HistorySettings(ServiceSettings):
    """Settings of the history service.

    Without ``MONGODB_URI`` the embedded SQLite store keeps history in
    ``$STATE_DIR/history.sqlite3``. With it, history lives in MongoDB (or any MongoDB-wire
    server); the ``MONGODB_*`` fields tune the client created in the app's lifespan.
    """

    port: int = Field(8083, validation_alias="PORT", ge=0, le=65535)

    mongodb_uri: str | None = Field(None, validation_alias="MONGODB_URI")
    mongodb_database: str = Field(
        "chatbot",
        validation_alias="MONGODB_DATABASE",
        description="used when the URI names no database",
    )
    mongodb_max_pool_size: int = Field(50, validation_alias="MONGODB_MAX_POOL_SIZE", ge=1)
    mongodb_min_pool_size: int = Field(0, validation_alias="MONGODB_MIN_POOL_SIZE", ge=0)
    mongodb_server_selection_timeout_ms: int = Field(
        2000, validation_alias="MONGODB_SERVER_SELECTION_TIMEOUT_MS", ge=1
    )
    mongodb_connect_timeout_ms: int = Field(
        2000, validation_alias="MONGODB_CONNECT_TIMEOUT_MS", ge=1
    )
    mongodb_socket_timeout_ms: int = Field(
        10000, validation_alias="MONGODB_SOCKET_TIMEOUT_MS", ge=1
    )
    mongodb_retry_writes: bool = Field(True, validation_alias="MONGODB_RETRY_WRITES")
    mongodb_write_concern: str = Field(
        "majority",
        validation_alias="MONGODB_WRITE_CONCERN",
        description='write concern "w": "majority" (default) or a number of members',
    )
    mongodb_journal: bool = Field(
        True,
        validation_alias="MONGODB_JOURNAL",
        description="write concern j: acknowledge writes only once in the on-disk journal",
    )
    mongodb_read_concern: Literal["local", "majority", "available", "linearizable"] = Field(
        "majority", validation_alias="MONGODB_READ_CONCERN"
    )

    store_retry_attempts: int = Field(
        3,
        validation_alias="STORE_RETRY_ATTEMPTS",
        ge=1,
        description="tries of one store operation on transient errors before answering 503",
    )
    store_retry_base_delay: float = Field(0.05, validation_alias="STORE_RETRY_BASE_DELAY", ge=0)
    store_retry_max_delay: float = Field(1.0, validation_alias="STORE_RETRY_MAX_DELAY", ge=0)
    sqlite_busy_timeout_ms: int = Field(5000, validation_alias="SQLITE_BUSY_TIMEOUT_MS", ge=0)

    max_content_chars: int = Field(32000, validation_alias="MAX_CONTENT_CHARS", ge=1)
    max_title_chars: int = Field(200, validation_alias="MAX_TITLE_CHARS", ge=1)
    max_system_prompt_chars: int = Field(8000, validation_alias="MAX_SYSTEM_PROMPT_CHARS", ge=0)
    max_model_chars: int = Field(200, validation_alias="MAX_MODEL_CHARS", ge=1)
    max_share_messages: int = Field(
        2000, validation_alias="MAX_SHARE_MESSAGES", ge=1,
        description="most messages a share link's snapshot holds (too_large beyond)",
    )
    max_shares_per_conversation: int = Field(
        20, validation_alias="MAX_SHARES_PER_CONVERSATION", ge=1,
        description="share links one conversation may have at once (too_large beyond)",
    )
    max_feedback_chars: int = Field(
        2000, validation_alias="MAX_FEEDBACK_CHARS", ge=0,
        description="longest comment of a thumbs up/down on an answer",
    )

    # Files attached to conversations (text, code, Markdown, CSV, PDF, images).
    max_file_bytes: int = Field(
        10 << 20, validation_alias="MAX_FILE_BYTES", ge=1,
        description="largest file one may attach (413 too_large beyond, nothing stored)",
    )
    max_user_file_bytes: int = Field(
        100 << 20, validation_alias="MAX_USER_FILE_BYTES", ge=1,
        description="bytes of all one user's files together (413 too_large beyond)",
    )
    max_file_text_chars: int = Field(
        200_000, validation_alias="MAX_FILE_TEXT_CHARS", ge=1,
        description="characters of text kept from one document (the rest is cut)",
    )
    max_import_bytes: int = Field(
        64 << 20, validation_alias="MAX_IMPORT_BYTES", ge=1024,
        description="largest body of a conversation import (its messages)",
    )
