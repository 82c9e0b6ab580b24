"""The dialer engine: claim due leads (claiming), place each call once, paced (placing,
pacing, twilio_errors), settle what a finished call means for its lead (settling), and
reconcile what a dead worker or a lost callback left behind (reaper); `now` places one call
outside any schedule for the API. The Celery tasks that drive it are in calls.tasks. A lead
is dialled at most once per attempt and none is stranded."""
