"""The analyst's reports, pure: periods and schedules, /ringkasan's chart data and caption, spike maths,
export files. The SQL aggregation is in storage.reports; the runtime queues briefs and spikes
(bot.runtime.reports) and the sender sends them (bot.delivery.documents).
"""
