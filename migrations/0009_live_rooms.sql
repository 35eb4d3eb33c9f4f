-- Live setlists (issue 14): when the setlist's first live ticket was issued. Until then no one
-- can be in its room nor resume from it, so REST writes send the room no notice (and no Durable
-- Object is created for the many setlists never used on stage).
alter table setlists add column live_at text;
