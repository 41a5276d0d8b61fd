"""Dependencies of the routes, as ``Annotated`` aliases.

Every dependency is ``async def``: FastAPI runs a plain ``def`` one in a worker thread, a
thread hop per dependency per request (five for a turn) for what is an attribute read.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

from chatbot_common.contract import valid_id
from chatbot_common.errors import NotFoundError
from chatbot_common.http import internal_auth
from fastapi import Depends, Header, Request

from ..repository import (
    AccountsRepository,
    FilesRepository,
    HistoryRepository,
    SharesRepository,
)
from ..settings import HistorySettings


def settings_of(request: Request) -> HistorySettings:
    settings: HistorySettings = request.app.state.settings
    return settings


async def get_settings(request: Request) -> HistorySettings:
    return settings_of(request)


async def get_repository(request: Request) -> HistoryRepository:
    repo: HistoryRepository = request.app.state.repository
    return repo


async def get_accounts(request: Request) -> AccountsRepository:
    accounts: AccountsRepository = request.app.state.accounts
    return accounts


async def get_files(request: Request) -> FilesRepository:
    files: FilesRepository = request.app.state.files
    return files


async def require_internal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """``Authorization: Bearer <CHAT_INTERNAL_TOKEN>``: the chat service is the only caller."""
    settings = settings_of(request)
    await internal_auth(lambda: settings.chat_token)(authorization)


async def get_user_id(x_user_id: Annotated[str, Header(min_length=1, max_length=200)]) -> str:
    return x_user_id


async def get_shares(request: Request) -> SharesRepository:
    shares: SharesRepository = request.app.state.shares
    return shares


SettingsDep = Annotated[HistorySettings, Depends(get_settings)]
HistoryDep = Annotated[HistoryRepository, Depends(get_repository)]
AccountsDep = Annotated[AccountsRepository, Depends(get_accounts)]
SharesDep = Annotated[SharesRepository, Depends(get_shares)]
FilesDep = Annotated[FilesRepository, Depends(get_files)]
UserId = Annotated[str, Depends(get_user_id)]
InternalAuth = Depends(require_internal)


def checked_id(value: str, what: str) -> str:
    # An id that cannot be ours is simply not found; it never reaches a query.
    if not valid_id(value):
        raise NotFoundError(f"no such {what}")
    return value


async def get_conversation_id(conversation_id: str) -> str:
    return checked_id(conversation_id, "conversation")


async def get_message_id(message_id: str) -> str:
    return checked_id(message_id, "message")


async def get_share_id(share_id: str) -> str:
    return checked_id(share_id, "share")


async def get_file_id(file_id: str) -> str:
    return checked_id(file_id, "file")


ConversationId = Annotated[str, Depends(get_conversation_id)]
MessageId = Annotated[str, Depends(get_message_id)]
ShareId = Annotated[str, Depends(get_share_id)]
FileId = Annotated[str, Depends(get_file_id)]


class AnswerCall(NamedTuple):
    """What each of the chat service's calls of an answer (a turn, a checkpoint, the finish)
    needs, solved as one dependency: FastAPI spends about 13 µs per dependency per request
    (py-spy: its dependency solving was a quarter of these routes' CPU with one per value)."""

    conversation_id: str
    user_id: str
    repo: HistoryRepository
    settings: HistorySettings
    request: Request

    @property
    def files(self) -> FilesRepository:
        files: FilesRepository = self.request.app.state.files
        return files

    @property
    def accounts(self) -> AccountsRepository:
        accounts: AccountsRepository = self.request.app.state.accounts
        return accounts


async def get_answer_call(
    request: Request,
    conversation_id: str,
    x_user_id: Annotated[str, Header(min_length=1, max_length=200)],
) -> AnswerCall:
    return AnswerCall(checked_id(conversation_id, "conversation"), x_user_id,
                      request.app.state.repository, settings_of(request), request)


Answering = Annotated[AnswerCall, Depends(get_answer_call)]
