-- Scores whose processing has not finished, oldest first: the Cron sweep re-enqueues those whose
-- message was lost (a failed send) and gives up on them after a day. Partial, so it only ever
-- holds the few scores in flight.
create index scores_processing_pending on scores (created_at)
  where pdf_info_state = 'pending' or thumbnail_state = 'pending';
