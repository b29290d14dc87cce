-- Reserved: number 0010 is taken by another branch (wt-access uses 0011).
-- Delete this file when that branch's 0010 is merged.
SELECT 1;
