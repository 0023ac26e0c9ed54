"""Analysts' feedback on alerts (issue #14), the pure part: the alert's button row, the correction keyboards
and what each press means (`buttons`), resolving a typed Kab/Kota (`buttons.resolve_typed_place`), and
turning stored corrections into labelled records in the dev-set format for `pantau eval` (`export`).

No Telegram, no database: keyboards are plain (label, callback data) rows the caller turns into
Telegram markup, and the state of a draft is a small dict the caller stores (storage.button_state).
"""
