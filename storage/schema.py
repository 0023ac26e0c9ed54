"""Schema migrations numbered on PRAGMA user_version.

A fresh file runs every step in order; an older file runs only the steps it lacks; a file whose
user_version is newer than SCHEMA_VERSION was written by newer code and is refused rather than guessed at.
Each step runs inside one transaction together with its user_version bump, so a crash mid-migration
leaves the file at the previous version.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

from bot.errors import StorageError

# A step is an SQL script, or a coroutine for steps that need Python (data rewrites).
Migration = str | Callable[[aiosqlite.Connection], Awaitable[None]]

# v1: feeds, articles (with per-feed guids, case index and full-text search).
_V1_INITIAL = """
        CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            title TEXT,                       -- from the feed itself
            name TEXT,                        -- given by whoever added it; wins over title
            default_city_code TEXT,           -- regional feed: Kemendagri code of its Kab/Kota
            etag TEXT,
            last_modified TEXT,
            added_at TEXT NOT NULL,
            added_by TEXT NOT NULL DEFAULT 'cli',
            last_checked_at TEXT,
            last_success_at TEXT,
            next_check_at TEXT NOT NULL,
            error_count INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            initial_polled INTEGER NOT NULL DEFAULT 0,
            backfill INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX feeds_next_check ON feeds(next_check_at);

        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            link TEXT NOT NULL UNIQUE,        -- normalized: the cross-feed dedup key
            url TEXT NOT NULL,                -- as the feed gave it
            feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '',
            author TEXT,
            source TEXT,
            published_at TEXT,
            fetched_at TEXT NOT NULL,
            city_code TEXT,
            city_name TEXT,
            province TEXT,
            other_cities TEXT NOT NULL DEFAULT '[]',   -- JSON [[code, name, province], ...]
            cases TEXT NOT NULL DEFAULT '[]',
            sentiment TEXT NOT NULL,
            confidence INTEGER NOT NULL,
            evidence TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX articles_fetched ON articles(fetched_at);
        CREATE INDEX articles_city ON articles(city_code, fetched_at);
        CREATE INDEX articles_feed ON articles(feed_id);

        -- One row per (article, case): lets /latest and /stats filter by case through an index.
        CREATE TABLE article_cases (
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            case_key TEXT NOT NULL,
            rank INTEGER NOT NULL,
            PRIMARY KEY (article_id, case_key)
        );
        CREATE INDEX article_cases_key ON article_cases(case_key, article_id);

        -- Every guid a feed has shown us, so an item is new at most once per feed even when its
        -- link changes, and a link seen in another feed is recognised through articles.link.
        CREATE TABLE feed_items (
            feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
            guid TEXT NOT NULL,
            article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (feed_id, guid)
        );

        CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, body, content='articles', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
        END;
        CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, body)
            VALUES ('delete', old.id, old.title, old.body);
        END;
        CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, body)
            VALUES ('delete', old.id, old.title, old.body);
            INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
        END;

"""

# v2: the Telegram side — chats, their subscriptions (indexed by area and case) and the outbox.
_V2_TELEGRAM = """
        CREATE TABLE chats (
            id INTEGER PRIMARY KEY,           -- Telegram chat id
            type TEXT NOT NULL DEFAULT 'private',
            title TEXT,
            active INTEGER NOT NULL DEFAULT 1,  -- 0 after Forbidden / chat not found / removed
            inactive_reason TEXT,
            paused INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
            thread_id INTEGER,                -- forum topic the subscription was made in
            any_area INTEGER NOT NULL,        -- 1: no Kab/Kota or province given
            any_case INTEGER NOT NULL,        -- 1: no case given
            sentiments TEXT NOT NULL DEFAULT '',       -- comma list; '' = any
            include_keywords TEXT NOT NULL DEFAULT '[]',
            exclude_keywords TEXT NOT NULL DEFAULT '[]',
            created_by INTEGER,               -- Telegram user id of whoever subscribed (groups: an admin)
            created_at TEXT NOT NULL
        );
        CREATE INDEX subscriptions_chat ON subscriptions(chat_id);
        CREATE INDEX subscriptions_any ON subscriptions(any_area, any_case);

        -- area_code is a Kab/Kota code ("33.72") or a province code ("33").
        CREATE TABLE subscription_areas (
            subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
            area_code TEXT NOT NULL,
            PRIMARY KEY (area_code, subscription_id)
        );
        CREATE INDEX subscription_areas_sub ON subscription_areas(subscription_id);

        CREATE TABLE subscription_cases (
            subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
            case_key TEXT NOT NULL,
            PRIMARY KEY (case_key, subscription_id)
        );
        CREATE INDEX subscription_cases_sub ON subscription_cases(subscription_id);

        -- The outbox: written in the same transaction as the article, drained by the sender.
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            thread_id INTEGER,
            reason TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            message_id INTEGER,               -- Telegram message that carried it (a digest carries several)
            digest INTEGER NOT NULL DEFAULT 0, -- 1: sent as part of a digest message
            UNIQUE (chat_id, article_id)
        );
        CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);

        -- Bumped by triggers on every change that can alter who matches what, so the in-memory
        -- subscription index (storage.subscriptions) knows with one cheap read when to reload.
        CREATE TABLE subscription_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        );
        INSERT INTO subscription_state (id, version) VALUES (1, 0);
        CREATE TRIGGER subscriptions_ins AFTER INSERT ON subscriptions
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER subscriptions_upd AFTER UPDATE ON subscriptions
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER subscriptions_del AFTER DELETE ON subscriptions
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER subscription_areas_ins AFTER INSERT ON subscription_areas
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER subscription_areas_del AFTER DELETE ON subscription_areas
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER subscription_areas_upd AFTER UPDATE ON subscription_areas
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER subscription_cases_ins AFTER INSERT ON subscription_cases
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER subscription_cases_del AFTER DELETE ON subscription_cases
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER subscription_cases_upd AFTER UPDATE ON subscription_cases
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER chats_match_upd AFTER UPDATE OF id, active, paused ON chats
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER chats_match_del AFTER DELETE ON chats
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE INDEX deliveries_chat ON deliveries(chat_id, status);
"""


# v3: stories — the reports of one incident across outlets (issue #10). Labels are the union of the
# reports' (a later report may add a Kab/Kota or a case); `title` is the representative report's.
_V3_STORIES = """
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            representative_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
            first_at TEXT NOT NULL,           -- publication time of the first report
            last_at TEXT NOT NULL,            -- of the latest report
            reports INTEGER NOT NULL DEFAULT 0,
            outlets TEXT NOT NULL DEFAULT '[]',      -- JSON: distinct sources, in order of first report
            city_codes TEXT NOT NULL DEFAULT '[]',   -- JSON: union of the reports' Kab/Kota codes
            cases TEXT NOT NULL DEFAULT '[]',        -- JSON: union of the reports' case keys, first seen first
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX stories_last ON stories(last_at);
        ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES stories(id) ON DELETE SET NULL;
        CREATE INDEX articles_story ON articles(story_id);
"""

# v4: full text for teaser feeds. Per feed whether to read article pages; per article which text was
# classified and stored as its body ('feed' or 'page'), the feed's own text when the page won, and why
# a wanted page was not used (the article was then classified and alerted on its teaser).
_V4_FULL_TEXT = """
        ALTER TABLE feeds ADD COLUMN full_text TEXT NOT NULL DEFAULT 'auto'
            CHECK (full_text IN ('auto', 'always', 'never'));
        ALTER TABLE articles ADD COLUMN text_source TEXT NOT NULL DEFAULT 'feed'
            CHECK (text_source IN ('feed', 'page'));
        ALTER TABLE articles ADD COLUMN feed_text TEXT;
        ALTER TABLE articles ADD COLUMN page_error TEXT;
"""

# v5: dedup keys fold http and https together (bot.feeds.urls.dedup_key / guid_key): existing keys are
# rewritten the same way, so a feed that moves to https after the upgrade alerts nothing again. A key whose
# folded form exists already keeps its old form (OR IGNORE): the folded twin matches from now on. Per feed,
# the query parameters seen to vary per request (comma-separated), left out of its keys.
_V5_SCHEME_FOLDED_KEYS = """
        ALTER TABLE feeds ADD COLUMN volatile_params TEXT NOT NULL DEFAULT '';
        UPDATE OR IGNORE articles SET link = 'http://' || substr(link, 9) WHERE link LIKE 'https://%';
        UPDATE OR IGNORE feed_items SET guid = 'http://' || substr(guid, 9) WHERE guid LIKE 'https://%';
"""

# v6: analysts' label corrections (issue #14), sources a chat muted, and the state behind inline buttons
# (so a button still works after a restart). `articles.corrected` names the fields a trusted correction set.
_V6_FEEDBACK = """
        CREATE TABLE corrections (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            chat_id INTEGER NOT NULL,         -- where it was made (no FK: kept when a chat row goes)
            user_id INTEGER,                  -- Telegram user who pressed
            trusted INTEGER NOT NULL,         -- 1: a group admin or a PANTAU_ADMIN_IDS user
            field TEXT NOT NULL CHECK (field IN ('city', 'cases', 'sentiment', 'relevance')),
            old_value TEXT NOT NULL,          -- JSON: city code or null, list of case keys, sentiment
            new_value TEXT NOT NULL,          -- JSON, same shape
            created_at TEXT NOT NULL
        );
        CREATE INDEX corrections_article ON corrections(article_id, id);
        CREATE INDEX corrections_created ON corrections(created_at);
        ALTER TABLE articles ADD COLUMN corrected TEXT NOT NULL DEFAULT '';

        CREATE TABLE muted_sources (
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
            source TEXT NOT NULL,             -- articles.source: the outlet's name
            created_by INTEGER,
            created_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, source)
        );
        -- A mute changes who matches what: the store's cached mute list reloads on the same version.
        CREATE TRIGGER muted_sources_ins AFTER INSERT ON muted_sources
            BEGIN UPDATE subscription_state SET version = version + 1; END;
        CREATE TRIGGER muted_sources_del AFTER DELETE ON muted_sources
            BEGIN UPDATE subscription_state SET version = version + 1; END;

        CREATE TABLE button_state (
            token TEXT PRIMARY KEY,           -- short random token carried in callback data
            chat_id INTEGER NOT NULL,
            kind TEXT NOT NULL,               -- 'correct', 'picker', 'page'
            user_id INTEGER,                  -- whoever opened it (None: anyone)
            message_id INTEGER,               -- the message whose keyboard carries the token
            payload TEXT NOT NULL,            -- JSON, owned by the kind's handler
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX button_state_chat ON button_state(chat_id, kind, user_id);
        CREATE INDEX button_state_updated ON button_state(updated_at);
"""

# v7: forum topics — the outbox is unique per chat × topic × article (was chat × article), so a story that
# matches subscriptions in two topics of one forum reaches both. SQLite cannot drop a table constraint, so
# the table is rebuilt; NULL (no topic) is folded to -1 in the index, since NULLs never collide in UNIQUE.
_V7_TOPIC_OUTBOX = """
        CREATE TABLE deliveries_v7 (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            thread_id INTEGER,
            reason TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            message_id INTEGER,
            digest INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO deliveries_v7 SELECT id, chat_id, article_id, thread_id, reason, status, attempts,
            next_attempt_at, last_error, created_at, sent_at, message_id, digest FROM deliveries;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_v7 RENAME TO deliveries;
        CREATE UNIQUE INDEX deliveries_topic_article ON deliveries(chat_id, coalesce(thread_id, -1), article_id);
        CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
        CREATE INDEX deliveries_chat ON deliveries(chat_id, status);
"""

# v8: /jeda holds alerts (they stay pending and arrive on /lanjut), optionally for a while: `/jeda 2 jam`
# sets paused_until, after which the chat counts as resumed without anyone writing to it.
_V8_PAUSE_UNTIL = """
        ALTER TABLE chats ADD COLUMN paused_until TEXT;
"""

# v9: subscription numbers per chat (a chat's first is #1, not the global row id #48).
_V9_SUBSCRIPTION_NUMBERS = """
        ALTER TABLE subscriptions ADD COLUMN number INTEGER;
        UPDATE subscriptions SET number = (
            SELECT count(*) FROM subscriptions s2 WHERE s2.chat_id = subscriptions.chat_id AND s2.id <= subscriptions.id
        );
        CREATE UNIQUE INDEX subscriptions_chat_number ON subscriptions(chat_id, number);
"""

# v10: an outbox row that could not be delivered within PANTAU_DELIVERY_MAX_AGE (a long Bot API outage)
# becomes 'expired', told apart from Telegram's definite refusals ('failed'). SQLite cannot alter a CHECK,
# so the table is rebuilt again (same columns and keys as v7); nothing references deliveries.
_V10_EXPIRED = """
        CREATE TABLE deliveries_v10 (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            thread_id INTEGER,
            reason TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            message_id INTEGER,
            digest INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO deliveries_v10 (id, chat_id, article_id, thread_id, reason, status, attempts,
                                    next_attempt_at, last_error, created_at, sent_at, message_id, digest)
            SELECT id, chat_id, article_id, thread_id, reason, status, attempts,
                   next_attempt_at, last_error, created_at, sent_at, message_id, digest FROM deliveries;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_v10 RENAME TO deliveries;
        CREATE UNIQUE INDEX deliveries_topic_article ON deliveries(chat_id, coalesce(thread_id, -1), article_id);
        CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
        CREATE INDEX deliveries_chat ON deliveries(chat_id, status);
"""

# v11: the analyst's reports — per-chat time zone, daily brief and spike opt-in; detected spikes; and the
# outbox carries briefs and spike alerts besides article alerts (kind), unique per (chat, kind, report_key)
# so a brief is queued once per chat per day however often the scheduler runs or restarts. SQLite cannot
# drop NOT NULL from article_id in place, so deliveries is rebuilt (nothing references it).
_V11_REPORTS = """
        ALTER TABLE chats ADD COLUMN tz TEXT NOT NULL DEFAULT 'WIB';
        ALTER TABLE chats ADD COLUMN brief_time TEXT;          -- 'HH:MM' local time; NULL: no daily brief
        ALTER TABLE chats ADD COLUMN brief_since TEXT;         -- when it was set: no brief for a day already past
        ALTER TABLE chats ADD COLUMN brief_thread_id INTEGER;  -- forum topic the brief was asked for in
        ALTER TABLE chats ADD COLUMN spike_alerts INTEGER NOT NULL DEFAULT 0;

        CREATE TABLE spikes (
            id INTEGER PRIMARY KEY,
            city_code TEXT NOT NULL,
            city_name TEXT NOT NULL,
            case_key TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            window_hours INTEGER NOT NULL,
            count INTEGER NOT NULL,            -- stories (or articles) in the window
            expected REAL NOT NULL,            -- the baseline's mean for a window of that length
            p_value REAL NOT NULL,
            unit TEXT NOT NULL,                -- 'stories' | 'articles': what was counted
            article_ids TEXT NOT NULL DEFAULT '[]'  -- JSON: one article per story, newest first
        );
        CREATE INDEX spikes_pair ON spikes(city_code, case_key, detected_at);

        CREATE TABLE deliveries_v11 (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
            article_id INTEGER REFERENCES articles(id) ON DELETE CASCADE,   -- NULL for briefs and spikes
            thread_id INTEGER,
            reason TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            message_id INTEGER,
            digest INTEGER NOT NULL DEFAULT 0,
            kind TEXT NOT NULL DEFAULT 'alert' CHECK (kind IN ('alert', 'brief', 'spike')),
            report_key TEXT,                   -- brief: local day 'YYYY-MM-DD'; spike: spikes.id
            payload TEXT,                      -- JSON the sender needs to render it (brief: period end)
            CHECK ((kind = 'alert') = (article_id IS NOT NULL)),
            UNIQUE (chat_id, kind, report_key)
        );
        INSERT INTO deliveries_v11 (id, chat_id, article_id, thread_id, reason, status, attempts, next_attempt_at,
            last_error, created_at, sent_at, message_id, digest)
        SELECT id, chat_id, article_id, thread_id, reason, status, attempts, next_attempt_at,
            last_error, created_at, sent_at, message_id, digest FROM deliveries;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_v11 RENAME TO deliveries;
        CREATE UNIQUE INDEX deliveries_topic_article ON deliveries(chat_id, coalesce(thread_id, -1), article_id);
        CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
        CREATE INDEX deliveries_chat ON deliveries(chat_id, status);
"""


# v12: story-aware outbox rows (issue #10, phase 2): kinds 'edit' (rewrite the chat's alert of the story,
# target_id, to name the other outlets) and 'update' (a "Pembaruan" replying to it) besides 'alert', both
# about an article; every article row carries its story_id. The kind CHECKs change, so the table is rebuilt.
_V12_STORY_DELIVERIES = """
        CREATE TABLE deliveries_v12 (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
            article_id INTEGER REFERENCES articles(id) ON DELETE CASCADE,   -- NULL for briefs and spikes
            thread_id INTEGER,
            reason TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            message_id INTEGER,
            digest INTEGER NOT NULL DEFAULT 0,
            kind TEXT NOT NULL DEFAULT 'alert' CHECK (kind IN ('alert', 'edit', 'update', 'brief', 'spike')),
            report_key TEXT,
            payload TEXT,
            story_id INTEGER REFERENCES stories(id) ON DELETE SET NULL,
            target_id INTEGER,                 -- edit / update: the alert row (deliveries.id) it edits or replies to
            CHECK ((kind IN ('alert', 'edit', 'update')) = (article_id IS NOT NULL)),
            UNIQUE (chat_id, kind, report_key)
        );
        INSERT INTO deliveries_v12 (id, chat_id, article_id, thread_id, reason, status, attempts, next_attempt_at,
            last_error, created_at, sent_at, message_id, digest, kind, report_key, payload, story_id)
        SELECT d.id, d.chat_id, d.article_id, d.thread_id, d.reason, d.status, d.attempts, d.next_attempt_at,
            d.last_error, d.created_at, d.sent_at, d.message_id, d.digest, d.kind, d.report_key, d.payload,
            (SELECT a.story_id FROM articles a WHERE a.id = d.article_id) FROM deliveries d;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_v12 RENAME TO deliveries;
        CREATE UNIQUE INDEX deliveries_topic_article ON deliveries(chat_id, coalesce(thread_id, -1), article_id);
        CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
        CREATE INDEX deliveries_chat ON deliveries(chat_id, status);
        CREATE INDEX deliveries_story ON deliveries(story_id, chat_id);
"""

# v13: a feed that answers successfully but slowly backs off gently (bot/feeds/schedule.py); how many
# successes in a row were slow and how long the last fetch took, for the schedule and `feeds list`.
_V13_SLOW_FEEDS = """
        ALTER TABLE feeds ADD COLUMN slow_polls INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE feeds ADD COLUMN last_fetch_seconds REAL;
"""

# v14: several cooperating processes (issue #15). A poller claims a due feed by writing its owner id and
# a lease end on the row; another poller skips the feed until the lease ends, so a feed is fetched once per
# interval and a dead poller's feeds are taken over after its lease runs out (storage/leases.py). `leases`
# holds named leader leases (one active sender per bot token, one long-polling bot): a row is free once
# its lease_until has passed. Times are text as everywhere (storage/timeutil.py). Plain SQL that runs
# unchanged on SQLite >= 3.35 and PostgreSQL.
_V14_LEASES = """
        ALTER TABLE feeds ADD COLUMN lease_owner TEXT;
        ALTER TABLE feeds ADD COLUMN lease_until TEXT;
        CREATE INDEX feeds_lease ON feeds(lease_owner);
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            lease_until TEXT NOT NULL,
            acquired_at TEXT NOT NULL
        );
"""

# v15: PostgreSQL keeps each article's search vector in a stored column with its GIN index (storage/
# schema_pg.py): an index over the expression made every search recompute the vector of each candidate row
# (3.7 s p95 at 1,000,000 articles). SQLite's FTS5 table already stores its index: nothing to do here; the
# step exists so that both backends keep the same version numbers.
_V15_STORED_SEARCH_VECTOR = """
        SELECT 1;
"""

MIGRATIONS: dict[int, Migration] = {
    1: _V1_INITIAL,
    2: _V2_TELEGRAM,
    3: _V3_STORIES,
    4: _V4_FULL_TEXT,
    5: _V5_SCHEME_FOLDED_KEYS,
    6: _V6_FEEDBACK,
    7: _V7_TOPIC_OUTBOX,
    8: _V8_PAUSE_UNTIL,
    9: _V9_SUBSCRIPTION_NUMBERS,
    10: _V10_EXPIRED,
    11: _V11_REPORTS,
    12: _V12_STORY_DELIVERIES,
    13: _V13_SLOW_FEEDS,
    14: _V14_LEASES,
    15: _V15_STORED_SEARCH_VECTOR,
}
SCHEMA_VERSION = max(MIGRATIONS)


async def user_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION; return the version the file had before."""
    found = await user_version(conn)
    if found > SCHEMA_VERSION:
        raise StorageError(
            f"database schema version {found} is newer than this Pantau supports ({SCHEMA_VERSION}); "
            "upgrade Pantau or use another PANTAU_DB"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        step = MIGRATIONS[version]
        try:
            if isinstance(step, str):
                # executescript() commits before it starts, so the transaction has to live inside
                # the script itself for the step and its version bump to be atomic.
                await conn.executescript(f"BEGIN IMMEDIATE;\n{step}\nPRAGMA user_version = {int(version)};\nCOMMIT;")
            else:
                await conn.execute("BEGIN IMMEDIATE")
                await step(conn)
                await conn.execute(f"PRAGMA user_version = {int(version)}")
                await conn.commit()
        except BaseException:
            if conn.in_transaction:
                await conn.rollback()
            raise
    return found
