"""SQLite persistence: the database (off-loop access, migrations) and repositories."""

from .database import Database
from .repositories import EventRepository, SessionRepository

__all__ = ["Database", "EventRepository", "SessionRepository"]
