"""Notifications (issue 15): each step tells the people who must act next and the people waiting.

* **Derived from the audit trail.** Every service write records an audit event in its transaction; a new event
  of a notifying kind (``recipients.NOTIFYING_ACTIONS``) sends ``tasks.notify_event`` on commit (``signals``),
  and beat's sweeper (every minute) processes whatever no task did (events written in bulk, such as
  ``voucher.issue``; a broker that was down). ``recipients`` maps each event to its recipients.
* **Idempotent.** An event is processed once (``ProcessedEvent``); a notification is unique per recipient and
  key; an email is sent by whoever locks its pending row; a digest once per user and day (``DigestRun``).
* **Email** through Django's email backend (console locally, SMTP in production: ``EMAIL_*`` settings), one per
  notification or one daily digest (``NotificationPreference``), in the language the user chose.
* **Reminders** (``reminders``, daily): vouchers expiring within 30 days with money left, claim windows closing
  within 7 days.
* **Portal**: ``/me/notifications/`` (list, mark read, preferences) and the unread badge in the header
  (``templates/notifications/_badge.html``, included by the portal's base template).
"""
