-- A town's or grid's open cases are those it owns or those in its area: an OR of two ranges.
-- Each arm reads the open cases of its own partial index, instead of every case, closed ones
-- included, that its owner path ever had.
CREATE INDEX cases_open_owner_path ON cases (owner_path, due_at, id) WHERE state NOT IN ('void', 'closed');
-- An owner's queue is served in deadline order by the partial index of open cases. Without
-- statistics SQLite took this one, of the same order, and walked every closed case first.
DROP INDEX cases_owner_due;
CREATE INDEX cases_owner ON cases (owner_post_id, id);
