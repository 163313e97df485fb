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
    # 2: accounts (secrets Fernet-encrypted), targets, usage, system log.
    [
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            email TEXT,
            kind TEXT NOT NULL,
            chatgpt_account_id TEXT,
            plan TEXT,
            status TEXT NOT NULL DEFAULT 'active',
            status_reason TEXT,
            secrets BLOB NOT NULL,
            access_expires_at REAL,
            last_refresh REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )
        """,
        """
        CREATE TABLE targets (
            name TEXT PRIMARY KEY,
            account_id TEXT REFERENCES accounts(id) ON DELETE SET NULL,
            strategy TEXT NOT NULL DEFAULT 'manual',
            threshold_percent REAL NOT NULL DEFAULT 15.0,
            rotation_seconds REAL NOT NULL DEFAULT 300.0,
            switched_at REAL
        )
        """,
        "INSERT INTO targets (name) VALUES ('api'), ('cli')",
        """
        CREATE TABLE usage_snapshots (
            account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
            body TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE usage_history (
            account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            time REAL NOT NULL,
            primary_used REAL,
            secondary_used REAL
        )
        """,
        "CREATE INDEX usage_history_account_time ON usage_history(account_id, time)",
        """
        CREATE TABLE system_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time REAL NOT NULL,
            level TEXT NOT NULL,
            kind TEXT NOT NULL,
            target TEXT,
            from_account TEXT,
            to_account TEXT,
            reason TEXT,
            message TEXT NOT NULL
        )
        """,
    ],
    # 3: proxy client keys (HMAC-SHA256 of the key, never the key) and the request log.
    [
        """
        CREATE TABLE proxy_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            prefix TEXT NOT NULL,
            key_hash TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL,
            last_used_at REAL,
            requests INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            rate_limit_per_minute INTEGER,
            revoked_at REAL
        )
        """,
        """
        CREATE TABLE proxy_requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time REAL NOT NULL,
            key_id TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            model TEXT,
            account_id TEXT,
            status INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            input_tokens INTEGER,
            output_tokens INTEGER,
            error TEXT
        )
        """,
        "CREATE INDEX proxy_requests_key_time ON proxy_requests(key_id, time)",
    ],
    # 4: agent mode of the proxy: a client's conversation id -> its workspace session.
    [
        """
        CREATE TABLE agent_sessions (
            key TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            last_used_at REAL NOT NULL
        )
        """,
        "CREATE INDEX agent_sessions_session ON agent_sessions(session_id)",
    ],
    # 5: the client-side tools a session's thread was declared with (JSON, NULL: none),
    # so a client that restarts (a kernel) can tell whether the thread can serve its tools,
    # and a thread started afresh gets them again.
    ["ALTER TABLE sessions ADD COLUMN tools TEXT"],
    # n: whether a session's sandboxed commands may use the network (issue 17).
    ["ALTER TABLE sessions ADD COLUMN network_access INTEGER NOT NULL DEFAULT 0"],
    # n: the lifecycle events crash recovery looks for (turns and approvals that a
    # crash left open), in a partial index so start-up never scans the whole log and
    # the streamed deltas cost the index nothing.
    [
        (
            "CREATE INDEX IF NOT EXISTS events_lifecycle ON events(session_id, seq) "
            "WHERE type IN ('turn.started', 'turn.completed', "
            "'approval.requested', 'approval.resolved')"
        )
    ],
    # n: the durable job queue (issue 19) and who owns a session (an extension's
    # system-owned sessions are hidden from the default list).
    [
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            text TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL DEFAULT 1,
            dedupe_key TEXT,
            not_before REAL,
            next_attempt_at REAL,
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            result TEXT,
            error TEXT,
            submitted_by TEXT,
            body TEXT NOT NULL
        )
        """,
        "CREATE INDEX jobs_created ON jobs(created_at)",
        "CREATE INDEX jobs_state ON jobs(state, created_at)",
        "CREATE INDEX jobs_session ON jobs(session_id, created_at)",
        "CREATE INDEX jobs_dedupe ON jobs(dedupe_key) WHERE dedupe_key IS NOT NULL",
        "ALTER TABLE sessions ADD COLUMN owner TEXT",
    ],
    # n: accounts signed out of a target (``accounts logout ID --target T``): a JSON list
    # of ids the target's strategy never picks until ``accounts use`` brings one back.
    ["ALTER TABLE targets ADD COLUMN signed_out TEXT NOT NULL DEFAULT '[]'"],
    # n: the notebook a notebook session is bound to (path under the root; NULL: none).
    ["ALTER TABLE sessions ADD COLUMN notebook TEXT"],
    # n: ids of the session's uploaded images a queued job sends (JSON list; NULL: none).
    ["ALTER TABLE jobs ADD COLUMN images TEXT"],
]
