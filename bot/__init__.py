"""Pantau: watches Indonesian news feeds and alerts Telegram chats by Kab/Kota, kasus and sentimen."""
