"""Schema migrations, applied in order; the index + 1 is the schema version.

Never edit a released migration: append a new one.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1: workspace sessions and their event log.
    [
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            thread_id TEXT,
            target TEXT NOT NULL,
            cwd TEXT NOT NULL,
            title TEXT NOT NULL,
            model TEXT,
            effort TEXT,
            approval_policy TEXT NOT NULL,
            sandbox TEXT NOT NULL,
            archived INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            last_seq INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX sessions_thread ON sessions(thread_id)",
        """
        CREATE TABLE events (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            time REAL NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        ) WITHOUT ROWID
        """,
    ],
]
