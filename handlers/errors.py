"""The one error handler: log with the traceback first, then apologise where a user is waiting."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, TelegramError

from handlers import texts
from handlers.context import AppContext

logger = logging.getLogger(__name__)


async def error_handler(update: object, context: AppContext) -> None:
    """Log the error and tell the user something went wrong (never the details)."""
    if is_unchanged_edit(context.error):
        # A button pressed twice: the message already shows what the second press asked for. Every
        # handler answers its press before editing, so there is nothing left to tell the user.
        logger.debug("edit left the message as it was (a button pressed twice)")
        return
    # Log before anything else, so the error is visible even if replying fails too.
    logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(texts.GENERIC_ERROR, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(texts.GENERIC_ERROR, do_quote=False)
    except TelegramError:
        logger.warning("could not tell the user about the error", exc_info=True)


def is_unchanged_edit(error: BaseException | None) -> bool:
    """Telegram refused an edit because the message already shows that text and keyboard."""
    return isinstance(error, BadRequest) and "message is not modified" in str(error).lower()
