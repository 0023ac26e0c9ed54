"""Runtime: the processes that wire the stages together (Telegram app, console mode, demo, feed commands)."""
