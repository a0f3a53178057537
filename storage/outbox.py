"""Digest emails not yet sent: kept with their digest until a run delivers them."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import DigestRow, utcnow

PENDING = "pending"
SENT = "sent"
ERROR_MAX_CHARS = 500


def keep(session: Session, digest_id: int, message: str) -> None:
    """Mark a digest as to be emailed, with its message as it was built."""
    row = session.get(DigestRow, digest_id)
    row.email_status = PENDING
    row.email_message = message
    session.add(row)
    session.commit()


def pending(session: Session) -> list[DigestRow]:
    """Digests whose email is not sent yet, oldest first."""
    query = select(DigestRow).where(DigestRow.email_status == PENDING).order_by(DigestRow.id)
    return list(session.exec(query))


def mark_sent(session: Session, digest_id: int) -> None:
    row = session.get(DigestRow, digest_id)
    row.email_status = SENT
    row.email_message = None  # delivered: the digest files keep the content
    row.email_attempts = (row.email_attempts or 0) + 1
    row.email_error = None
    row.emailed_at = utcnow()
    session.add(row)
    session.commit()


def mark_failed(session: Session, digest_id: int, error: str) -> None:
    row = session.get(DigestRow, digest_id)
    row.email_attempts = (row.email_attempts or 0) + 1
    row.email_error = error[:ERROR_MAX_CHARS]
    session.add(row)
    session.commit()
