-- A web form's minimum fill time in seconds (0: not checked): a submit
-- sent sooner after the form was served is spam. Forms made before carry
-- 0: the code pasted into their sites has no fill-time stamp yet (new forms
-- get 3 from the API and the UI).
ALTER TABLE webforms ADD COLUMN min_fill_seconds INTEGER NOT NULL DEFAULT 0;
