"""Drives Obmen's CalDAV server with python3-caldav (Debian's package):
discovery from /.well-known, the principal, the calendar list,
sync-collection tokens, and a task created, then completed.

Usage: python3 pycaldav.py BASE_URL LOGIN PASSWORD
Prints one "KEY value" line per step; the Go test reads them."""

import datetime
import sys

import caldav

base, login, password = sys.argv[1:4]
client = caldav.DAVClient(url=base + "/.well-known/caldav", username=login, password=password)
principal = client.principal()
print("PRINCIPAL", principal.url.path)
cals = principal.calendars()
print("CALENDARS", "|".join(sorted(str(c.url.path) for c in cals)))
cal = [c for c in cals if str(c.url.path).rstrip("/").endswith("/activities")][0]
print("NAME", cal.get_display_name())

first = cal.objects_by_sync_token(load_objects=False)
token = first.sync_token
print("FIRST", len(list(first)))

due = datetime.datetime(2026, 12, 11, 15, 0, tzinfo=datetime.timezone.utc)
todo = cal.save_todo(summary="Задача из python-caldav", due=due)
print("TODO", todo.url.path)

again = cal.objects_by_sync_token(sync_token=token, load_objects=False)
print("CHANGED", "|".join(sorted(str(o.url.path) for o in again)))
token = again.sync_token

todo.load()
todo.complete()
print("COMPLETED", "yes")

after = cal.objects_by_sync_token(sync_token=token, load_objects=True)
for o in after:
    o.load()
    print("STATUS", o.icalendar_component.get("STATUS"))
nothing = cal.objects_by_sync_token(sync_token=after.sync_token, load_objects=False)
print("NOTHING", len(list(nothing)))
print("TODOS", len(cal.todos(include_completed=True)))
