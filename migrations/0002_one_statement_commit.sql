-- The group commit is one statement (data-modifying CTEs, so one round trip and atomic without
-- an explicit transaction). It checks its own row counts and, when someone else changed what the
-- batch was decided against, aborts itself through this function: SQLSTATE IV409, the reason as
-- the message, the rows concerned as the detail.
CREATE FUNCTION inventory_commit_conflict(reason text, detail text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'IV409', MESSAGE = reason, DETAIL = coalesce(detail, '');
END
$$;
